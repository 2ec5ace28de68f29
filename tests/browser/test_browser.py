"""The guest page in real headless Chromium: join, be recorded, hang up, file plays.

Chromium's fake camera and microphone stand in for the guest's devices. The page is
driven over the DevTools protocol (tests/support/cdp.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from guestrec.webrtc import sdp
from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server
from support.media_probe import ffprobe_decode_errors, probe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

STATE = "JSON.stringify(window.guestState)"


def test_guest_page_joins_is_recorded_and_hangs_up(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    shot = tmp_path / "guest_page.png"

    async def scenario() -> tuple[dict, dict, list[dict]]:
        async with running_server(out, record=3000) as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Zoë&token={server.token}")
                assert await page.evaluate("document.getElementById('name').value") == "Zoë"
                await page.wait_for("window.guestState.media", 15)
                rec_text = await page.evaluate("document.getElementById('rec-text').textContent")
                assert rec_text == "Not recorded"

                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.connected", 20)
                await page.wait_for("window.guestState.recording", 20)
                await asyncio.sleep(3)  # some seconds of media in the file
                joined = json.loads(await page.evaluate(STATE))
                banner = await page.evaluate("document.getElementById('rec-text').textContent")
                assert banner == "You are being recorded"
                assert await page.evaluate("document.getElementById('rec-state').className") == "rec-state on"
                await page.screenshot(shot)
                statuses = server.sessions.guest_statuses()

                await page.evaluate("document.getElementById('hangup').click()")
                await page.wait_for("!window.guestState.joined", 10)
                for _ in range(100):  # DELETE finalizes the file before answering
                    if not server.sessions.guest_statuses():
                        break
                    await asyncio.sleep(0.1)
                left = json.loads(await page.evaluate(STATE))
                assert server.sessions.guest_statuses() == []
                # The DELETE found its session (a 404 would read "Left (the studio answered 404).").
                status_text = "document.getElementById('status').textContent"
                try:
                    await page.wait_for(f"{status_text} === 'You left the studio.'", 10)
                except TimeoutError:
                    raise AssertionError(f"after hang-up: {await page.evaluate(status_text)!r}") from None
                return joined, left, statuses

    joined, left, statuses = asyncio.run(asyncio.wait_for(scenario(), 120))

    # The answer the browser got asks for stereo Opus at the plan's bitrate and caps video.
    answer = joined["answerSdp"]
    opus = sdp.fmtp_params(answer, "opus")
    assert opus and all(p["stereo"] == "1" and p["sprop-stereo"] == "1" for p in opus)
    assert {p["maxaveragebitrate"] for p in opus} == {"80000"}  # 3000 kbps -> 80 kbps inbound
    assert sdp.bandwidth_lines(answer, "video") == ["b=AS:3000", "b=TIAS:3000000"]

    # The server's data-channel messages drove the page.
    recording_msgs = [m for m in joined["messages"] if m["type"] == "recording"]
    # Recording starts when the connection is up, before the channel opens: the message
    # sent on opening already says so.
    assert recording_msgs and all(set(m) >= {"recording", "file"} for m in recording_msgs)
    assert recording_msgs[-1]["recording"] is True and recording_msgs[-1]["file"].startswith("Zo")
    assert joined["error"] is None and left["recording"] is False

    (status,) = statuses
    assert status["name"] == "Zoë" and status["connected"] and status["recording"]
    assert status["mode"] == "video" and sorted(status["media"]) == ["audio", "video"]
    assert Path(status["file"]).name == recording_msgs[-1]["file"]

    # The file is finalized and plays: both streams, a few seconds, decodes cleanly.
    path = Path(status["file"])
    assert path.parent.parent == out.resolve() and path.exists()  # in the session folder
    info = probe(path)
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["video"]["codec_name"] == "vp8" and kinds["audio"]["codec_name"] == "opus"
    assert int(kinds["audio"]["channels"]) == 2
    assert float(info["format"]["duration"]) >= 2.5
    assert ffprobe_decode_errors(path) == ""

    # A rendered page, not a blank one (look at it: pytest's tmp_path keeps it).
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_page_shows_why_the_server_said_no(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path / "rec") as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Mallory&token=wrong")
                await page.wait_for("window.guestState.media", 15)
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.error", 15)
                state = json.loads(await page.evaluate(STATE))
                state["shown"] = await page.evaluate("document.getElementById('error').textContent")
                state["join_enabled"] = not await page.evaluate("document.getElementById('join').disabled")
                assert server.sessions.guest_statuses() == []
                return state

    state = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert state["httpStatus"] == 401 and not state["joined"]
    # Told in words a guest understands, not as an HTTP status.
    shown = state["shown"]
    assert "HTTP" not in shown and "token is wrong" in shown and "new link" in shown
    assert state["join_enabled"]  # the guest can try again


def test_page_explains_a_refused_camera(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path / "rec") as server:
            async with Chromium(tmp_path / "profile", grant_media=False) as browser:
                page = await browser.open(f"{server.base}/?name=Shy&token={server.token}")
                await page.wait_for("window.guestState.error", 15)
                state = json.loads(await page.evaluate(STATE))
                state["shown"] = await page.evaluate("document.getElementById('error').textContent")
                state["join_disabled"] = await page.evaluate("document.getElementById('join').disabled")
                await page.screenshot(tmp_path / "refused.png")
                return state

    state = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert not state["media"] and state["join_disabled"]
    assert "refused" in state["shown"] and "Allow them" in state["shown"]
