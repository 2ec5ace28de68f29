"""The engine's thread-safe API, driven from a plain (non-asyncio) thread as OBS would."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from guestrec.common.plan import RecordSettingsError
from guestrec.server.engine import Engine, EngineError, EngineSettings
from obs_launcher.obs_config import free_port
from support.synthetic import MovingVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient


def get_guests(engine: Engine) -> list[dict]:
    request = urllib.request.Request(
        f"{engine.base_url}/api/guests", headers={"Authorization": f"Bearer {engine.operator_key}"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name.startswith("guestrec") or t.name.endswith("-decoder")]


def run_guest_in_thread(url: str, token: str, seconds: float, result: dict) -> threading.Thread:
    """An aiortc guest on its own loop in its own thread, like a remote browser."""

    async def guest() -> None:
        tracks = [ToneAudioTrack(frequency=440), MovingVideoTrack(width=320, height=240, fps=15)]
        async with WhipClient(url, token=token, tracks=tracks) as client:
            await client.publish()
            await client.wait_connected()
            result["connected"] = True
            message = await client.wait_message(lambda m: m.get("type") == "recording" and m.get("recording"))
            result["told"] = message
            await asyncio.sleep(seconds)
            result["messages"] = list(client.messages)

    thread = threading.Thread(target=lambda: asyncio.run(guest()), daemon=True)
    thread.start()
    return thread


def test_start_record_stop_from_a_plain_thread(tmp_path: Path) -> None:
    before = set(engine_threads())
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="2000", auto_record=False))
    assert engine.token  # a random token is made when none is given
    engine.start()
    try:
        assert engine.running and engine.guest_link.startswith("http://127.0.0.1:")
        assert f"token={engine.token}" in engine.guest_link
        result: dict = {}
        guest = run_guest_in_thread(f"{engine.base_url}/whip/Alice", engine.token, 3.0, result)
        deadline = time.monotonic() + 15
        while not result.get("connected") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert result.get("connected")
        time.sleep(0.5)
        assert [g["name"] for g in engine.guests()] == ["Alice"]
        assert not engine.guests()[0]["recording"]  # auto_record is off
        assert engine.start_recording("Alice") == ["Alice"]
        status = get_guests(engine)  # over HTTP, while the guest is still there
        assert status[0]["recording"] and status[0]["file"]
        assert "session_id" not in status[0]  # one guest cannot hang up another
        guest.join(20)
        assert result["told"]["recording"] is True  # the guest page was told
        assert engine.guests() == []  # the guest hung up
    finally:
        started = time.monotonic()
        engine.stop(timeout=5)
        stop_seconds = time.monotonic() - started
    assert stop_seconds < 5
    assert not engine.running
    leftover = [t for t in engine_threads() if t not in before and t.is_alive()]
    assert leftover == [], leftover
    files = list(tmp_path.glob("Session */Alice *.webm"))
    assert len(files) == 1 and files[0].stat().st_size > 10_000
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    assert sidecar["guest"] == "Alice"


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        engine = Engine(EngineSettings(out_dir=tmp_path, port=port))
        with pytest.raises(EngineError, match=f"cannot listen on 127.0.0.1:{port}"):
            engine.start()
        assert not engine.running


def test_bad_record_settings_fail_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(RecordSettingsError):
        Engine(EngineSettings(out_dir=tmp_path, record="loud"))
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port()))
    engine.start()
    try:
        with pytest.raises(RecordSettingsError):
            engine.apply_settings(EngineSettings(out_dir=tmp_path, port=engine.settings.port, codec="hevc"))
        assert engine.settings.codec == "vp8"  # the old settings stay
    finally:
        engine.stop()


def test_apply_settings_restarts_the_server_on_a_new_port(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), token="first-token-0123456"))
    engine.start()
    try:
        assert get_guests(engine) == []
        new_port = free_port()
        engine.apply_settings(EngineSettings(out_dir=tmp_path, port=new_port, token="second-token-012345"))
        assert engine.base_url.endswith(f":{new_port}") and engine.token == "second-token-012345"
        assert get_guests(engine) == []
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(
                f"{engine.base_url}/api/guests", headers={"Authorization": "Bearer first-token-0123456"}),
                timeout=5)
        assert refused.value.code == 401
    finally:
        engine.stop()


def test_a_new_port_in_use_keeps_the_old_server(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), token="token-of-the-studio"))
    engine.start()
    try:
        old_url = engine.base_url
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            with pytest.raises(EngineError, match=f"cannot listen on 127.0.0.1:{taken}"):
                engine.apply_settings(
                    EngineSettings(out_dir=tmp_path, port=taken, token="token-of-the-studio"))
        assert engine.running and engine.base_url == old_url
        assert get_guests(engine) == []  # still answering on the old port
    finally:
        engine.stop()


def test_calls_on_a_stopped_engine_are_clear(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port()))
    assert engine.guests() == []
    with pytest.raises(EngineError, match="not running"):
        engine.start_recording()
    engine.stop()  # stopping a stopped engine is harmless


def test_every_interface_gives_a_link_other_machines_can_use(tmp_path: Path) -> None:
    """Listening on 0.0.0.0, the guest link names this machine's outward address (not
    127.0.0.1, which a remote guest cannot reach), and the self-signed certificate
    names that address, so the link opens over HTTPS with the certificate trusted."""
    import ssl
    from urllib.parse import urlsplit

    from guestrec.server.certificates import CERT_NAME
    from guestrec.server.netaddr import outward_address

    engine = Engine(EngineSettings(out_dir=tmp_path, host="0.0.0.0", port=free_port("0.0.0.0")))
    engine.start()
    try:
        link = urlsplit(engine.guest_link)
        expected = outward_address() or "127.0.0.1"
        assert link.scheme == "https" and link.hostname == expected
        trusted = ssl.create_default_context(cafile=str(engine.tls_dir() / CERT_NAME))
        with urllib.request.urlopen(engine.guest_link, timeout=5, context=trusted) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
    finally:
        engine.stop()
