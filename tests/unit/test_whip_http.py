"""The WHIP endpoint against bad and odd requests, with a real aiortc guest alongside.

Each bad request must get its own clear answer and leave the connected guest untouched.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from guestrec.server import certificates as certs
from guestrec.webrtc import sdp
from support.guest_server import RunningServer, running_server
from support.whip_client import WhipClient, WhipError, post_raw
from support.wrong_secret import one_off

UNSUPPORTED_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0 9\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:9 G722/8000\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=mid:1\r\n"
    "a=rtpmap:98 VP9/90000\r\n"
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def real_offer() -> str:
    """A real browser-like offer (audio + video), made by aiortc."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


def auth(server: RunningServer, content_type: str = "application/sdp") -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}", "Content-Type": content_type}


async def check_bad_requests(server: RunningServer, offer: str) -> None:
    url = server.whip_url("Mallory")

    status, body, headers = await post_raw(url, offer, {"Content-Type": "application/sdp"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Access-Control-Allow-Origin"] == "*"  # CORS on errors too

    status, _, headers = await post_raw(
        url, offer, {"Authorization": "Bearer " + one_off(server.token), "Content-Type": "application/sdp"}
    )
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    status, _, _ = await post_raw(url, offer, {"Authorization": f"Basic {server.token}",
                                              "Content-Type": "application/sdp"})
    assert status == 401

    status, body, _ = await post_raw(url, offer, auth(server, "application/json"))
    assert status == 415 and "application/sdp" in body

    status, body, headers = await post_raw(url, "this is not sdp at all", auth(server))
    assert status == 400 and headers["Content-Type"].startswith("text/plain") and "v=0" in body

    status, body, _ = await post_raw(url, b"v=0\r\n\xff\xfe\r\n", auth(server))
    assert status == 400 and "UTF-8" in body

    status, body, _ = await post_raw(url, UNSUPPORTED_OFFER, auth(server))
    assert status == 422 and "Opus" in body and "vp9" in body

    status, body, headers = await post_raw(url, b"v=0\r\n" + b"a" * (1024 * 1024), auth(server))
    assert status == 413 and "65536" in body

    async def chunks():  # no Content-Length: the limit must hold while reading
        yield b"v=0\r\n"
        for _ in range(64):
            yield b"a=x:" + b"y" * 2044 + b"\r\n"

    status, body, _ = await post_raw(url, chunks(), auth(server))
    assert status == 413

    status, body, _ = await post_raw(
        f"{server.base}/whip/session/doesnotexist", b"", {"Authorization": f"Bearer {server.token}"},
        method="DELETE",
    )
    assert status == 404
    status, _, _ = await post_raw(f"{server.base}/whip/session/doesnotexist", b"", method="DELETE")
    assert status == 401

    status, _, headers = await post_raw(
        f"{server.base}/whip/session/whatever", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
        auth(server, "application/trickle-ice-sdpfrag"), method="PATCH",
    )
    assert status == 404  # no such session; its own session's PATCH gets 405 (see below)

    status, _, headers = await post_raw(url, b"", {
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"}, method="OPTIONS")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    for wanted in ("Authorization", "Content-Type", "If-Match"):
        assert wanted in headers["Access-Control-Allow-Headers"]
    for wanted in ("Location", "ETag", "Link"):
        assert wanted in headers["Access-Control-Expose-Headers"]

    status, _, _ = await post_raw(f"{server.base}/api/guests", b"", method="GET")
    assert status == 401

    # The page and its files are served; nothing outside the page folder is.
    status, body, headers = await post_raw(f"{server.base}/?name=x", b"", method="GET")
    assert status == 200 and "static/guest.js" in body and headers["Content-Type"].startswith("text/html")
    status, body, _ = await post_raw(f"{server.base}/static/guest.js", b"", method="GET")
    assert status == 200 and "guestState" in body
    for path in ("/static/..%2Fsession.py", "/static/%2e%2e/session.py", "/static/"):
        status, _, _ = await post_raw(f"{server.base}{path}", b"", method="GET")
        assert status in (403, 404), path


def test_bad_requests_leave_a_connected_guest_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, record=2500) as server:
            async with WhipClient(server.whip_url("Alice"), server.token) as alice:
                answer = await alice.publish()
                await alice.wait_connected()
                assert alice.status == 201
                assert alice.headers["Content-Type"].startswith("application/sdp")
                assert alice.headers["Location"].startswith("/whip/session/")
                assert alice.headers["ETag"]
                assert alice.headers["Access-Control-Expose-Headers"]
                opus = sdp.fmtp_params(answer, "opus")
                assert opus and all(p["stereo"] == "1" and p["maxaveragebitrate"] == "80000" for p in opus)
                assert sdp.bandwidth_lines(answer, "video") == ["b=AS:2500", "b=TIAS:2500000"]
                await alice.wait_message(lambda m: m.get("type") == "recording")

                await check_bad_requests(server, await real_offer())

                # Still there and still connected; nobody else was left behind.
                statuses = server.sessions.guest_statuses()
                assert [s["name"] for s in statuses] == ["Alice"]
                assert statuses[0]["connected"] and alice.pc.connectionState == "connected"
                status, body, _ = await post_raw(
                    f"{server.base}/api/guests", b"", server.operator(), method="GET"
                )
                assert status == 200 and '"Alice"' in body and '"connected": true' in body

                status, _, headers = await post_raw(
                    alice.location, "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
                    auth(server, "application/trickle-ice-sdpfrag"), method="PATCH",
                )
                assert status == 405 and "DELETE" in headers["Allow"] and "PATCH" not in headers["Allow"]

                location = alice.location
                assert await alice.delete() == 200
            assert server.sessions.guest_statuses() == []
            status, _, _ = await post_raw(
                location, b"", {"Authorization": f"Bearer {server.token}"}, method="DELETE"
            )
            assert status == 404

    run(scenario())


def test_hostile_names_and_one_name_twice(tmp_path: Path, monkeypatch) -> None:
    from guestrec.core import admission

    # Seven offers from one address that never connect: more than the pending budget
    # allows (see test_slots.py); this test is about names.
    monkeypatch.setattr(admission, "MAX_PENDING_PER_ADDRESS", 8)
    monkeypatch.setattr(admission, "MAX_PENDING", 8)

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            offer = await real_offer()
            names = ["Alice", "Alice", "alice", "../x", "CON", "😀 Zoë", "n" * 300]
            used = []
            locations = []
            for name in names:
                status, body, headers = await post_raw(server.whip_url(name), offer, auth(server))
                assert status == 201, body
                assert sdp.fmtp_params(body, "opus")[0]["stereo"] == "1"
                locations.append(headers["Location"])
            used = [s["name"] for s in server.sessions.guest_statuses()]
            assert used == ["Alice", "Alice 2", "alice 3", "../x", "CON", "😀 Zoë", "n" * 64]
            assert len(set(locations)) == len(names)
            for location in locations:
                status, _, _ = await post_raw(server.base + location, b"",
                                              {"Authorization": f"Bearer {server.token}"}, method="DELETE")
                assert status == 200
            assert server.sessions.guest_statuses() == []

    run(scenario())


def test_token_in_query_and_guest_that_just_disconnects(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, record=-64) as server:
            bob = WhipClient(server.whip_url("Bob"), server.token, video=False, token_in_query=True)
            answer = await bob.publish()
            assert sdp.fmtp_params(answer, "opus")[0]["maxaveragebitrate"] == "64000"
            await bob.wait_connected()
            assert [s["name"] for s in server.sessions.guest_statuses()] == ["Bob"]
            # No DELETE: the guest just goes away. DTLS close ends the session.
            await bob.pc.close()
            for _ in range(100):
                if not server.sessions.guest_statuses():
                    break
                await asyncio.sleep(0.05)
            assert server.sessions.guest_statuses() == []

            with pytest.raises(WhipError) as refused:
                await WhipClient(server.whip_url("Eve"), "wrong", data_channel=False).publish()
            assert refused.value.status == 401

    run(scenario())


def test_self_signed_certificate_is_made_once_and_serves_https(tmp_path: Path) -> None:
    cert, key = certs.ensure_self_signed(tmp_path / "tls", ["127.0.0.1", "localhost"])
    first = cert.read_bytes()
    assert key.stat().st_mode & 0o077 == 0
    again = certs.ensure_self_signed(tmp_path / "tls", ["localhost", "127.0.0.1"])
    assert again == (cert, key) and cert.read_bytes() == first
    # A new host name makes a new certificate that names it.
    certs.ensure_self_signed(tmp_path / "tls", ["127.0.0.1", "guests.lan"])
    assert cert.read_bytes() != first

    async def fetch() -> tuple[int, str]:
        from aiohttp import web

        from guestrec.server.access import StudioAccess
        from guestrec.server.web_app import build_app

        app = build_app(_NoGuests(), StudioAccess("t0ken", operator_key="the-operator-key-0123"))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=certs.ssl_context(cert, key))
        await site.start()
        try:
            import ssl

            client_ctx = ssl.create_default_context(cafile=str(cert))
            async with aiohttp.ClientSession() as http:
                async with http.get(f"https://127.0.0.1:{port}/api/guests",
                                    headers={"Authorization": "Bearer the-operator-key-0123"},
                                    ssl=client_ctx) as resp:
                    return resp.status, await resp.text()
        finally:
            await runner.cleanup()

    assert run(fetch()) == (200, "[]")


class _NoGuests:
    async def open_session(self, guest, offer_sdp):  # pragma: no cover - not called
        raise AssertionError

    async def close_session(self, session_id):  # pragma: no cover - not called
        return False

    def guest_statuses(self):
        return []


def test_names_are_quoted_in_urls() -> None:
    # The helper must not let a name escape its path segment.
    assert quote("../x", safe="") == "..%2Fx"
