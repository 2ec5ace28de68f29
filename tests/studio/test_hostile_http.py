"""Hostile requests and secrets: offers that lack or overdo things, the token in logs,
the API's reach, the page's headers and where private keys live."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from guestrec.server.engine import Engine, EngineError, EngineSettings
from obs_launcher.obs_config import free_port
from support.guest_server import running_server
from support.serve_process import ROOT, ServeProcess
from support.synthetic import MovingVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient, post_raw
from support.wrong_secret import one_off

FLOOD = 300


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def local_offer(pc: RTCPeerConnection) -> str:
    pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
    pc.addTransceiver(MovingVideoTrack(320, 240, fps=15), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


def test_offer_without_fingerprint_is_refused_with_400(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str]:
        async with running_server(tmp_path) as server:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            try:
                offer = await local_offer(pc)
            finally:
                await pc.close()
            stripped = "".join(line for line in offer.splitlines(True)
                               if not line.startswith("a=fingerprint"))
            status, body, _ = await post_raw(server.whip_url("NoPrint"), stripped, {
                "Content-Type": "application/sdp", "Authorization": f"Bearer {server.token}"})
            assert server.sessions.guest_statuses() == []
            return status, body

    status, body = run(scenario())
    assert status == 400 and "fingerprint" in body


def test_candidate_flood_is_capped(tmp_path: Path) -> None:
    """An offer naming 300 addresses (loopback ports the test listens on, no real
    candidate): the server probes only a few of them."""
    sockets = []
    for _ in range(FLOOD):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sockets.append(sock)

    async def scenario() -> tuple[int, int]:
        async with running_server(tmp_path, record=1000) as server:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            try:
                offer = await local_offer(pc)
            finally:
                await pc.close()
            lines = [line for line in offer.splitlines(True) if not line.startswith("a=candidate")]
            flood = "".join(
                f"a=candidate:9{i} 1 udp 1 127.0.0.1 {s.getsockname()[1]} typ host\r\n"
                for i, s in enumerate(sockets))
            at = next(i for i, line in enumerate(lines) if line.startswith("a=ice-ufrag")) + 1
            flooded = "".join(lines[:at]) + flood + "".join(lines[at:])
            status, answer, _ = await post_raw(server.whip_url("Flood"), flooded, {
                "Content-Type": "application/sdp", "Authorization": f"Bearer {server.token}"})
            assert status == 201, answer
            await asyncio.sleep(4)
            probed = packets = 0
            for sock in sockets:
                got = 0
                while True:
                    try:
                        sock.recv(2048)
                        got += 1
                    except BlockingIOError:
                        break
                probed += bool(got)
                packets += got
            return probed, packets

    try:
        probed, packets = run(scenario())
    finally:
        for sock in sockets:
            sock.close()
    print(f"{FLOOD} flooded candidates: {probed} addresses probed, {packets} packets in 4 s")
    assert 1 <= probed <= 16


async def api_get(base: str, key: str, origin: str | None) -> tuple[aiohttp.ClientResponse, list]:
    headers = {"Authorization": f"Bearer {key}"}
    if origin:
        headers["Origin"] = origin
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/guests", headers=headers) as resp:
            return resp, await resp.json()


def test_api_cors_answers_only_its_own_origin_and_whip_stays_open(tmp_path: Path) -> None:
    async def scenario():
        async with running_server(tmp_path) as server:
            foreign, _ = await api_get(server.base, server.operator_key, "https://evil.example")
            own, _ = await api_get(server.base, server.operator_key, server.base)
            _, _, whip = await post_raw(server.whip_url("x"), "v=0", {
                "Content-Type": "application/sdp", "Origin": "https://elsewhere.example"})
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{server.base}/") as page:
                    page_headers = dict(page.headers)
            return foreign.headers, own.headers, whip, page_headers

    foreign, own, whip, page = run(scenario())
    assert "Access-Control-Allow-Origin" not in foreign
    assert own["Access-Control-Allow-Origin"].startswith("http://127.0.0.1:")
    assert whip["Access-Control-Allow-Origin"] == "*"
    assert page["Referrer-Policy"] == "no-referrer"
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "*" not in csp


def test_short_tokens_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="at least 16 characters"):
        Engine(EngineSettings(out_dir=tmp_path, port=free_port(), token="1"))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    done = subprocess.run(
        [sys.executable, "-m", "guestrec", "serve", "--port", str(free_port()), "--out", str(tmp_path),
         "--token", "s3cret"], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2 and "at least 16 characters" in done.stderr


def test_tls_keys_live_in_the_config_folder_owner_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    out = tmp_path / "recordings"
    engine = Engine(EngineSettings(out_dir=out, port=free_port()))
    _cert, key = engine.publisher_dtls_identity()
    assert engine.tls_dir() == tmp_path / "config" / "guest-recorder-obs" / "tls"
    assert out not in key.parents and not out.exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(engine.tls_dir().stat().st_mode) == 0o700


async def send_garbage(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"\x16\x03\x01 this is no HTTP at all\r\n\r\n")
    await writer.drain()
    await reader.read(1000)
    writer.close()


def test_token_never_reaches_a_log_line(tmp_path: Path) -> None:
    token = "tok-" + os.urandom(12).hex()
    server = ServeProcess(tmp_path, "--record", "1000", f"--token={token}")

    async def scenario() -> None:
        # The page's way: the token in the query string, on every request.
        async with WhipClient(server.base + "/whip/Query", token=token, token_in_query=True) as guest:
            await guest.publish()
            await guest.wait_connected()
            await asyncio.sleep(1.5)
            _, (row,) = await api_get(server.base, server.operator_key, None)
            # The API names the file, not where the server keeps it.
            assert row["file"].startswith("Query") and "/" not in row["file"], row
        status, _, _ = await post_raw(server.base + "/whip/Wrong?token=" + one_off(token), "v=0",
                                      {"Content-Type": "application/sdp"})
        assert status == 401
        await send_garbage(server.base)

    try:
        run(scenario())
    finally:
        output = server.stop()
    lines = output.splitlines()
    with_token = [line for line in lines if token in line]
    print("\n".join(lines))
    # Only the operator's own "Guest link" line shows it; every log line masks it.
    assert len(with_token) == 1 and with_token[0].startswith("Guest link:"), with_token
    assert any(token[:3] + "…" in line for line in lines)
    # A malformed request costs one line of log, not a traceback.
    assert "Traceback" not in output
