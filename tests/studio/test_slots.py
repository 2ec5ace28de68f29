"""Slots: offers that never connect do not lock real guests out, and a guest that
vanishes gives its slot back as soon as its connection is known dead."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from guestrec.core.admission import MAX_PENDING_PER_ADDRESS
from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server
from support.serve_process import ROOT
from support.synthetic import MovingVideoTrack, ToneAudioTrack
from support.whip_client import WhipClient

STRANGERS = 15


async def dead_offer() -> str:
    """A real offer whose sender is gone before any answer: it never connects."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        pc.addTransceiver(MovingVideoTrack(160, 120, fps=5), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


async def post_from(address: str, url: str, token: str, offer: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.post(url, data=offer, headers={
                "Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}) as resp:
            return resp.status


def test_never_connecting_offers_do_not_lock_out_a_real_guest(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path, record=1000) as server:
            offers = [await dead_offer() for _ in range(STRANGERS)]
            statuses = await asyncio.gather(*(
                post_from("127.0.0.2", server.whip_url(f"stranger{i}"), server.token, offer)
                for i, offer in enumerate(offers)))
            started = time.monotonic()
            async with WhipClient(server.whip_url("Real"), token=server.token) as guest:
                await guest.publish()
                answered = time.monotonic() - started
                await guest.wait_connected()
                await guest.wait_message(lambda m: m.get("type") == "recording" and m.get("recording"), 10)
                recording = time.monotonic() - started
                rows = server.sessions.guest_statuses()
            return {"statuses": statuses, "answered": answered, "recording": recording, "rows": rows}

    seen = asyncio.run(asyncio.wait_for(scenario(), 60))
    accepted = seen["statuses"].count(201)
    print(f"{STRANGERS} never-connecting offers: {accepted} answered, "
          f"{seen['statuses'].count(503)} refused (503); the real guest was answered after "
          f"{seen['answered']:.2f} s and recorded after {seen['recording']:.2f} s")
    assert accepted <= MAX_PENDING_PER_ADDRESS and set(seen["statuses"]) <= {201, 503}
    assert seen["answered"] < 3
    real = [row for row in seen["rows"] if row["name"] == "Real"]
    assert real and real[0]["recording"]


def test_pending_budget_gives_way_to_new_offers_after_their_time(tmp_path: Path, monkeypatch) -> None:
    """From one address: the budget is full, then the stalest pending offer gives way."""
    from guestrec.core import admission

    monkeypatch.setattr(admission, "EVICTABLE_AFTER_S", 1.0)

    async def scenario() -> tuple[list[int], int, int]:
        async with running_server(tmp_path, record=1000) as server:
            offers = [await dead_offer() for _ in range(MAX_PENDING_PER_ADDRESS + 2)]
            first = [await post_from("127.0.0.3", server.whip_url(f"s{i}"), server.token, offer)
                     for i, offer in enumerate(offers)]
            await asyncio.sleep(1.2)
            later = await post_from("127.0.0.3", server.whip_url("late"), server.token, await dead_offer())
            return first, later, len(server.sessions.guest_statuses())

    first, later, live = asyncio.run(asyncio.wait_for(scenario(), 60))
    print(f"offers from one address: {first}, after 1.2 s: {later}; {live} guests pending")
    assert first == [201] * MAX_PENDING_PER_ADDRESS + [503, 503]
    assert later == 201 and live == MAX_PENDING_PER_ADDRESS


def test_vanished_guest_frees_its_slot_within_seconds(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, str | None]:
        async with running_server(tmp_path, record=1000) as server:
            env = dict(os.environ, PYTHONPATH=f"{ROOT / 'lib'}:{ROOT / 'tests'}")
            proc = subprocess.Popen([sys.executable, "-m", "support.lone_guest", server.whip_url("Gone"),
                                     server.token], stdout=subprocess.PIPE, text=True, env=env)
            try:
                line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
                assert line.strip() == "connected"
                await asyncio.sleep(1.5)
                assert [r["name"] for r in server.sessions.guest_statuses()] == ["Gone"]
                proc.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                error = None
                for _ in range(300):  # bounded: 30 s
                    rows = server.sessions.guest_statuses()
                    if not rows:
                        break
                    error = rows[0]["error"]
                    await asyncio.sleep(0.1)
                return time.monotonic() - killed, error
            finally:
                proc.kill()
                proc.wait()

    freed_after, _error = asyncio.run(asyncio.wait_for(scenario(), 60))
    files = sorted(p.name for p in tmp_path.rglob("Gone*"))
    print(f"guest killed: slot free after {freed_after:.1f} s; files {files}")
    assert freed_after <= 9.0  # ICE consent checks every second (core/liveness.py)
    assert any(name.startswith("Gone") and name.endswith(".json") for name in files)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_guest_page_waits_out_a_busy_studio_and_joins(tmp_path: Path) -> None:
    """Guests behind one router who all join at once: the one past the per-address budget
    gets a 503 with Retry-After, and its page waits and sends its offer again by itself."""
    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=1000) as server:
            offers = [await dead_offer() for _ in range(MAX_PENDING_PER_ADDRESS)]
            for i, offer in enumerate(offers):
                url = server.whip_url(f"stranger{i}")
                assert await post_from("127.0.0.1", url, server.token, offer) == 201
            async with aiohttp.ClientSession() as http:
                async with http.post(server.whip_url("Raw"), data=await dead_offer(), headers={
                        "Content-Type": "application/sdp",
                        "Authorization": f"Bearer {server.token}"}) as resp:
                    refused = (resp.status, resp.headers.get("Retry-After"), await resp.text())
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Late&token={server.token}")
                await page.wait_for("window.guestState.media", 15)
                started = time.monotonic()
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.busyRetries >= 1", 10)
                waiting = await page.evaluate("document.getElementById('status').textContent")
                await page.wait_for("window.guestState.connected", 30)
                joined = time.monotonic() - started
                state = json.loads(await page.evaluate("JSON.stringify(window.guestState)"))
                names = [s["name"] for s in server.sessions.guest_statuses()]
            return {"refused": refused, "waiting": waiting, "joined": joined, "state": state, "names": names}

    out = asyncio.run(asyncio.wait_for(scenario(), 90))
    print(f"busy studio: {out['refused'][:2]}; the page joined after {out['joined']:.1f} s "
          f"and {out['state']['busyRetries']} wait(s)")
    status, retry_after, text = out["refused"]
    assert status == 503 and 1 <= int(retry_after) <= 5 and "still connecting" in text
    assert out["waiting"].startswith("The studio is letting other guests in; trying again in ")
    assert out["state"]["connected"] and out["state"]["httpStatus"] == 201
    assert "Late" in out["names"]
