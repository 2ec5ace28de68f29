"""A Chromium guest with a 1280x720 camera on a clean link sends, and is recorded at, 1280x720.

The answer asks Chromium to start at the plan's bitrate and never drop below half of it
(x-google-start/min-bitrate), and the page asks its sender to keep resolution, so the
studio's conservative receive estimate no longer holds the picture down.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from guestrec.webrtc import sdp
from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server
from support.media_probe import probe, streams_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_browser_sends_and_studio_records_the_full_720p(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    async def scenario():
        async with running_server(out, record=4000, codec="copy", record_at="studio") as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Wide&token={server.token}")
                await page.wait_for("window.guestState.media", 15)
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.connected", 30)
                samples = []
                for _ in range(8):  # the guest page reads its sender's stats every 2 s
                    await asyncio.sleep(1)
                    samples.append(json.loads(await page.evaluate(
                        "JSON.stringify(window.guestRecorderState.live || null)")))
                answer = await page.evaluate("window.guestState.answerSdp")
                path = server.sessions.guest_statuses()[0]["file"]
                capture = server.sessions.get("Wide").media.capture_size  # the page reported it
        return samples, answer, Path(path), capture

    samples, answer, path, capture = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert capture == (1280, 720)
    sizes = [(s["width"], s["height"]) for s in samples if s]
    print(f"sender sizes, one a second: {sizes}")
    assert len(sizes) >= 6 and sizes.count((1280, 720)) >= 0.75 * len(sizes)
    vp8 = sdp.fmtp_params(answer, "vp8")
    assert vp8 and all(p["x-google-start-bitrate"] == "4000" and p["x-google-min-bitrate"] == "2000"
                       for p in vp8)
    video = streams_of(probe(path), "video")[0]
    assert (int(video["width"]), int(video["height"])) == (1280, 720)
