"""The VDO.Ninja ingest's pure parts: names and hashes, encryption, dialects, links, and
the handshake socket (TLS trust, reconnect with backoff) against a local WebSocket server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from guestrec.ingest.vdoninja import crypto
from guestrec.ingest.vdoninja.dialects import HostedDialect, RelayDialect
from guestrec.ingest.vdoninja.names import RoomKeys, clean_id, room_name, room_password
from guestrec.ingest.vdoninja.settings import VdoSettings, VdoSettingsError, settings_from_link
from guestrec.ingest.vdoninja.signaling import SignalingSocket, tls_context
from obs_launcher.obs_config import free_port
from support.vdo_rig import make_tls


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- names --------------------------------------------------------------------------------


def test_default_password_names_match_the_protocol_example() -> None:
    keys = RoomKeys.make("RoomX")
    assert keys.wire_stream("StreamA") == "StreamA808d64"  # PROTOCOL.md's own example
    assert keys.wire_room == sha("RoomX" + "someEncryptionKey123" + "vdo.ninja")[:16]
    assert keys.plain_stream("StreamA808d64") == "StreamA"
    assert keys.plain_stream("SomeoneElse") == "SomeoneElse"
    assert keys.key == hashlib.sha256(b"someEncryptionKey123vdo.ninja").digest()


def test_custom_password_is_trimmed_and_uri_encoded() -> None:
    keys = RoomKeys.make("Room", "  my secret pass ")
    assert keys.password == "my%20secret%20pass"
    assert keys.wire_room == sha("Room" + "my%20secret%20pass" + "vdo.ninja")[:16]
    assert keys.wire_stream("Cam") == "Cam" + sha("my%20secret%20pass" + "vdo.ninja")[:6]
    assert room_password("a&b=c/é") == "a%26b%3Dc%2F%C3%A9"
    assert room_password("it's (ok)!*~") == "it's (ok)!*~".replace(" ", "%20")


@pytest.mark.parametrize("value", [False, "false", "FALSE", "0", "off", " off "])
def test_password_off_sends_plain_names(value) -> None:
    keys = RoomKeys.make("My Room", value)
    assert keys.password is None and keys.key is None
    assert keys.wire_room == "My_Room" and keys.wire_stream("Cam 1") == "Cam_1"


@pytest.mark.parametrize("value", [None, "", "   ", True])
def test_no_password_means_the_default(value) -> None:
    assert room_password(value) == "someEncryptionKey123"


def test_room_and_stream_names_are_cleaned_like_the_app() -> None:
    assert clean_id("My Room!") == "My_Room_"
    assert clean_id("Zoë") == "Zo_"  # the app's \\W is ASCII-only
    assert room_name("x" * 40) == "x" * 30
    with pytest.raises(ValueError):
        room_name("   ")
    assert RoomKeys.make("R").wire_stream("s" * 50) == "s" * 44 + "808d64"


# -- encryption ---------------------------------------------------------------------------


def test_seal_encrypts_only_the_secret_fields_and_unseal_reads_them_back() -> None:
    key = RoomKeys.make("R").key
    message = {"UUID": "abc", "session": "s1", "description": {"type": "offer", "sdp": "v=0\r\n"}}
    sealed = crypto.seal(message, key)
    assert sealed["UUID"] == "abc" and sealed["session"] == "s1"
    assert isinstance(sealed["description"], str) and len(bytes.fromhex(sealed["vector"])) == 16
    assert crypto.unseal(sealed, key) == message
    # Ciphertext is AES-256-CBC of the field's JSON with PKCS#7, as PROTOCOL.md says.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(sealed["vector"]))).decryptor()
    raw = decryptor.update(bytes.fromhex(sealed["description"])) + decryptor.finalize()
    assert json.loads(raw[: -raw[-1]].decode("latin-1")) == message["description"]


def test_unseal_reads_a_field_the_app_encrypted_byte_per_character() -> None:
    key = RoomKeys.make("R", "pw").key
    text = json.dumps([{"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host", "sdpMid": "0"}])
    iv = bytes(range(16))
    cipher = crypto.encrypt_text(text, key, iv)
    opened = crypto.unseal({"candidates": cipher, "vector": iv.hex(), "type": "local"}, key)
    assert opened == {"candidates": json.loads(text), "type": "local"}


def test_a_wrong_password_is_a_clear_error() -> None:
    sealed = crypto.seal({"description": {"type": "offer", "sdp": "v=0"}}, RoomKeys.make("R", "one").key)
    with pytest.raises(crypto.DecryptError):
        crypto.unseal(sealed, RoomKeys.make("R", "two").key)
    with pytest.raises(crypto.DecryptError):
        crypto.unseal(sealed, None)


def test_no_key_leaves_messages_plain() -> None:
    message = {"description": {"type": "answer", "sdp": "v=0"}}
    assert crypto.seal(message, None) == message
    assert crypto.unseal(message, None) == message


def test_non_ascii_survives_the_byte_per_character_encoding() -> None:
    key = RoomKeys.make("R").key
    message = {"candidate": {"candidate": "Zoë ✓"}}
    assert crypto.unseal(crypto.seal(message, key), key) == message


# -- dialects -----------------------------------------------------------------------------


def test_relay_dialect_reads_from_fields_and_disconnects() -> None:
    relay = RelayDialect()
    assert relay.join("room1") == {"request": "joinroom", "roomid": "room1", "from": relay.me}
    assert len(relay.me) == 20
    (event,) = relay.read({"request": "joinroom", "roomid": "r", "streamID": "S1", "from": "P1"})
    assert (event.kind, event.sender, event.stream) == ("publisher", "P1", "S1")
    (event,) = relay.read({"type": "disconnect", "uuid": "P1"})
    assert (event.kind, event.sender) == ("left", "P1")
    (event,) = relay.read({"UUID": relay.me, "from": "P1", "description": {}, "session": "x"})
    assert (event.kind, event.sender) == ("offer", "P1")
    (event,) = relay.read({"UUID": "someone-else", "from": "P1", "description": {}})
    assert event.kind == "ignored"
    assert relay.to("P1", {"a": 1}) == {"a": 1, "UUID": "P1", "from": relay.me}
    director = RelayDialect(director=True)
    assert director.join("r")["director"] is True and director.join("r")["claim"] is True
    assert director.play("S1", "P1")["director"] is True


def test_hosted_dialect_reads_listings_and_uuids() -> None:
    hosted = HostedDialect()
    assert hosted.join("room1") == {"request": "joinroom", "roomid": "room1"}
    events = hosted.read({"request": "listing", "list": [{"UUID": "a", "streamID": "S"}, {"UUID": "b"}]})
    assert [(e.kind, e.sender, e.stream) for e in events] == [("publisher", "a", "S")]
    (event,) = hosted.read({"request": "videoaddedtoroom", "UUID": "c", "streamID": "T"})
    assert (event.kind, event.sender, event.stream) == ("publisher", "c", "T")
    (event,) = hosted.read({"UUID": "c", "candidates": "..", "vector": ".."})
    assert (event.kind, event.sender) == ("candidates", "c")
    assert hosted.play("T", "c") == {"request": "play", "streamID": "T"}
    assert hosted.to("c", {"description": "x"}) == {"description": "x", "UUID": "c"}


# -- settings and links -------------------------------------------------------------------


def test_a_pasted_link_gives_room_password_server_and_streams() -> None:
    s = settings_from_link("https://vdo.ninja/?room=Show%20Room&password=a%20b&view=Cam1,Cam2")
    assert (s.room, s.password, s.server, s.dialect, s.streams) == (
        "Show Room", "a b", "wss://wss.vdo.ninja:443", "auto", ("Cam1", "Cam2"))
    s = settings_from_link("http://127.0.0.1:8080/?push=X&room=R&wss=10.1.2.3:8443&pw=false")
    assert (s.room, s.password, s.server, s.dialect) == ("R", False, "wss://10.1.2.3:8443", "relay")
    s = settings_from_link("https://vdo.ninja/?director=Dir&wss2=wss.example.org:443&nopassword")
    assert (s.room, s.password, s.server, s.dialect) == ("Dir", False, "wss://wss.example.org:443", "hosted")
    assert settings_from_link("https://ninja.example.org/?room=R").salt == "ninja.example.org"
    with pytest.raises(VdoSettingsError, match="names no room"):
        settings_from_link("https://vdo.ninja/?push=abc")


def test_bad_settings_are_refused_with_the_reason() -> None:
    with pytest.raises(VdoSettingsError, match="room"):
        VdoSettings(room="!!!".replace("!", " "))
    with pytest.raises(VdoSettingsError, match="wss://"):
        VdoSettings(room="R", server="https://wss.vdo.ninja")
    with pytest.raises(VdoSettingsError, match="dialect"):
        VdoSettings(room="R", dialect="other")


def test_serve_takes_the_room_settings() -> None:
    from guestrec.cli.commands import build_parser, vdo_settings

    args = build_parser().parse_args([
        "serve", "--vdo-room", "R", "--vdo-password", "false", "--vdo-server", "h:9",
        "--vdo-streams", "A, B", "--vdo-director", "--vdo-dialect", "relay"])
    assert vdo_settings(args) == VdoSettings(room="R", password=False, server="wss://h:9",
                                             streams=("A", "B"), director=True, dialect="relay")
    assert vdo_settings(build_parser().parse_args(["serve"])) is None


# -- the handshake socket -----------------------------------------------------------------


class EchoJoinServer:
    """A TLS WebSocket server that records what it gets and can drop every client."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict] = []
        self.sockets: list[web.WebSocketResponse] = []

    async def drop_all(self) -> None:
        for ws in self.sockets:
            await ws.close()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"hello": len(self.sockets)}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.received.append(json.loads(msg.data))
        return ws


async def _serve(tls, server: EchoJoinServer) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/", server.handle)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls.cert), str(tls.key))
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port, ssl_context=context).start()
    return runner


async def _until(check, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_socket_trusts_a_given_ca_rejoins_after_a_drop_and_backs_off(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")

    async def scenario() -> None:
        server = EchoJoinServer()
        runner = await _serve(tls, server)
        got: list[dict] = []

        async def on_message(message: dict) -> None:
            got.append(message)

        # Not trusted by the system store: refused, and it keeps retrying.
        untrusted = SignalingSocket(f"wss://127.0.0.1:{server.port}", on_message, lambda: asyncio.sleep(0))
        untrusted.start()
        await _until(lambda: untrusted.last_error is not None)
        assert "certificate" in untrusted.last_error.lower() and untrusted.connects == 0
        await untrusted.close()

        socket: SignalingSocket

        async def on_open() -> None:
            await socket.send({"request": "joinroom", "n": socket.connects})

        socket = SignalingSocket(f"wss://127.0.0.1:{server.port}", on_message, on_open,
                                 ssl_context=tls_context(tls.ca))
        socket.start()
        await _until(lambda: len(server.received) == 1 and got)
        assert got[0] == {"hello": 1} and socket.state == "open"
        await server.sockets[0].close()  # the server drops us: we come back and join again
        await _until(lambda: len(server.received) == 2)
        assert server.received == [{"request": "joinroom", "n": 1}, {"request": "joinroom", "n": 2}]
        await server.drop_all()
        await runner.cleanup()  # gone for a while: retries, with growing waits
        await _until(lambda: socket.state == "retrying")
        await asyncio.sleep(2.0)
        runner = await _serve(tls, server)
        await _until(lambda: len(server.received) == 3, timeout=20)
        assert socket.connects == 3
        tail = socket.waits[-3:]
        assert tail == sorted(tail) and tail[-1] > tail[0], socket.waits  # backing off
        await socket.close()
        await server.drop_all()
        await runner.cleanup()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_ssl_cert_file_is_honoured(tmp_path: Path) -> None:
    """The system trust store is what verifies the server: SSL_CERT_FILE can extend it."""
    tls = make_tls(tmp_path / "tls")
    code = (
        "import ssl,sys; sys.path.insert(0, sys.argv[1]);"
        "from guestrec.ingest.vdoninja.signaling import tls_context;"
        "ctx = tls_context(); print(len(ctx.get_ca_certs()))"
    )
    lib = str(Path(__file__).resolve().parents[2] / "lib")
    env = {**os.environ, "SSL_CERT_FILE": str(tls.ca)}
    out = subprocess.run([sys.executable, "-c", code, lib], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "1"  # only the test CA: the file replaced the default store


def test_engine_joins_and_leaves_the_room_with_the_settings(tmp_path: Path) -> None:
    """A room in the engine's settings is joined at start, left when the setting is cleared;
    a server that is not there shows as reconnecting with the reason."""
    import dataclasses
    import time

    from guestrec.server.engine import Engine, EngineSettings

    vdo = VdoSettings(room="R", password=False, server=f"wss://127.0.0.1:{free_port()}", ice_servers=())
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), vdo=vdo))
    engine.start()
    try:
        for _ in range(100):
            status = engine.vdo_status()
            if status and status["handshake"] == "retrying":
                break
            time.sleep(0.05)
        assert status["room"] == "R" and status["handshake"] == "retrying", status
        assert "cannot reach the handshake server" in status["handshake_error"]
        engine.apply_settings(dataclasses.replace(engine.settings, vdo=None))
        assert engine.vdo_status() is None
    finally:
        engine.stop()


def test_a_pasted_link_fills_the_fields() -> None:
    from guestrec.ingest.vdoninja.settings import link_fields

    assert link_fields("https://vdo.ninja/?room=Show&password=a%20b&view=A,B") == {
        "vdo_room": "Show", "vdo_password": "a b", "vdo_server": "", "vdo_streams": "A, B"}
    assert link_fields("https://vdo.ninja/?director=Show&wss=h:9&nopassword") == {
        "vdo_room": "Show", "vdo_password": "false", "vdo_server": "wss://h:9", "vdo_streams": ""}
    # The fields read back give the link's own settings.
    from guestrec.obs_bridge.options import ScriptOptions, vdo_settings

    link = "https://vdo.ninja/?room=Show&password=a%20b&wss=h:9"
    opts = ScriptOptions(vdo_link=link, **link_fields(link))
    assert vdo_settings(opts) == settings_from_link(link)
