"""The guest page for a non-technical guest, in real headless Chromium: device pickers,
level meter, self-mute, the name the studio uses, the studio's requests, and a layout
that holds at desktop and phone widths.

Chromium's fake camera and microphone (a test pattern and a beeping tone) stand in for
the guest's devices; the studio is the real guest server (core + WHIP ingest).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import av
import numpy as np
import pytest

from guestrec.core.director import Director
from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server
from support.page_layout import assert_fits, boxes_and_screenshot, keep_screenshot
from support.whip_client import WhipClient

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

STATE = "JSON.stringify(window.guestState)"
# Where the screenshots are kept for people to look at (besides pytest's tmp_path).


def text_of(element_id: str) -> str:
    return f"document.getElementById('{element_id}').textContent"


def audio_peaks(path: Path, window_s: float = 0.5) -> list[float]:
    """Peak level of each half second of the file's audio."""
    peaks: list[float] = []
    chunk: list[np.ndarray] = []
    samples = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            data = frame.to_ndarray()
            chunk.append(np.abs(data).max(axis=0) if data.ndim > 1 else np.abs(data))
            samples += frame.samples
            if samples >= frame.sample_rate * window_s:
                peaks.append(float(np.concatenate([c.ravel() for c in chunk]).max()))
                chunk, samples = [], 0
    return peaks


def test_devices_meter_self_mute_name_and_studio_requests(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=1000) as server:
            director = Director(server.sessions)
            async with WhipClient(server.whip_url("Eve"), token=server.token) as first_eve:
                await first_eve.publish()
                await first_eve.wait_connected(10)
                async with Chromium(tmp_path / "profile") as browser:
                    page = await browser.open(f"{server.base}/?name=Eve&token={server.token}")
                    await page.wait_for("window.guestState.media", 15)
                    out: dict = {}
                    out["cameras"] = await page.evaluate(
                        "[...document.getElementById('camera').options].map(o => o.textContent)")
                    out["mics"] = await page.evaluate(
                        "[...document.getElementById('microphone').options].map(o => o.textContent)")
                    # The audio graph may start late on a busy machine; from then on the
                    # fake microphone beeps twice a second and the meter must follow it.
                    await page.wait_for("window.guestState.level > 0", 15)
                    levels = []
                    for _ in range(30):
                        levels.append(await page.evaluate("window.guestState.level"))
                        await asyncio.sleep(0.1)
                    out["levels"] = levels

                    # Join muted: the start of the recording must be silent.
                    await page.evaluate("document.getElementById('mute').click()")
                    out["mute_label"] = await page.evaluate(text_of("mute"))
                    await page.evaluate("document.getElementById('join').click()")
                    await page.wait_for("window.guestState.recording", 20)
                    await page.wait_for(f"{text_of('status')}.includes('Eve 2')", 10)
                    out["status"] = await page.evaluate(text_of("status"))
                    await page.wait_for("window.guestState.quality", 10)
                    out["quality"] = await page.evaluate(text_of("quality"))
                    await asyncio.sleep(3)
                    guest = next(s for s in server.sessions.guest_statuses() if s["name"] == "Eve 2")
                    out["studio_saw_muted"] = guest["page"].get("muted")
                    await page.evaluate("document.getElementById('mute').click()")  # unmute
                    await asyncio.sleep(3)
                    out["file"] = next(s for s in server.sessions.guest_statuses()
                                       if s["name"] == "Eve 2")["file"]

                    # The studio's requests, through the core's director.
                    director.message("Eve 2", "Back in five")
                    await page.wait_for(f"{text_of('studio-message')}.includes('Back in five')", 10)
                    director.ask_mute("Eve 2", True)
                    await page.wait_for("window.guestState.muted", 10)
                    out["after_mute_request"] = await page.evaluate(text_of("studio-message"))
                    out["mute_pressed"] = await page.evaluate(
                        "document.getElementById('mute').getAttribute('aria-pressed')")
                    director.ask_mute("Eve 2", False)
                    await page.wait_for("!window.guestState.muted", 10)
                    await director.hang_up("Eve 2")
                    await page.wait_for("!window.guestState.joined", 10)
                    out["after_hangup"] = await page.evaluate(text_of("studio-message"))
                    out["camera_live"] = await page.evaluate(
                        "!!(document.getElementById('preview').srcObject)")
                    out["media"] = await page.evaluate("window.guestState.media")
                    out["page_text"] = await page.evaluate("document.body.innerText")
                    return out

    out = asyncio.run(asyncio.wait_for(scenario(), 150))
    assert out["cameras"] and out["mics"], out
    assert max(out["levels"]) > 0.05, out["levels"]  # the meter moves with the tone
    assert min(out["levels"]) < max(out["levels"]) / 2, out["levels"]  # ...and falls between beeps
    assert out["mute_label"] == "Unmute microphone"
    assert out["status"] == "Connected to the studio as Eve 2."  # the studio's name, not "Eve"
    assert out["quality"].startswith("Connection: ")
    assert out["studio_saw_muted"] is True  # the page told the studio
    assert "muted your microphone" in out["after_mute_request"] and out["mute_pressed"] == "true"
    assert "ended your call" in out["after_hangup"]
    assert not out["camera_live"] and out["media"] is False  # camera released on leaving
    file = Path(out["file"])
    assert file.name not in out["page_text"] and str(file.parent) not in out["page_text"]
    # Self-mute silences the recording: muted at first, the tone after unmuting.
    peaks = audio_peaks(file)
    assert len(peaks) >= 8, peaks
    assert max(peaks[:3]) < 0.01, peaks
    assert max(peaks[-5:]) > 0.05, peaks


VIEWPORTS = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
LAYOUT_IDS = ["rec-state", "preview", "return-video", "camera", "microphone", "level", "mute", "camera-off",
              "return-volume", "headphones", "echo-note", "name", "join", "hangup", "status", "quality",
              "studio-message"]
BOXES = """(() => {
  const out = {};
  for (const id of %s) {
    const el = document.getElementById(id);
    if (!el || el.hidden || el.offsetParent === null) continue;
    const r = el.getBoundingClientRect();
    out[id] = [r.left, r.top, r.right, r.bottom];
  }
  out._width = document.documentElement.clientWidth;
  out._scrollWidth = document.documentElement.scrollWidth;
  return out;
})()""" % json.dumps(LAYOUT_IDS)  # noqa: UP031 - the script is full of braces


def overlaps(a, b) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_guest_page_layout_holds(tmp_path: Path, viewport: str) -> None:
    width, height, mobile = VIEWPORTS[viewport]
    shot = tmp_path / f"guest_page_{viewport}.png"

    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=1000) as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Ada&token={server.token}")
                await page.send("Emulation.setDeviceMetricsOverride", {
                    "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
                await page.send("Page.reload")  # laid out from the start at this width
                await asyncio.sleep(0.5)
                await page.wait_for("document.readyState === 'complete' && window.guestState"
                                    " && window.guestState.media", 15)
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.recording", 20)
                await page.wait_for("window.guestState.quality", 10)
                return await boxes_and_screenshot(page, BOXES, shot)

    boxes = asyncio.run(asyncio.wait_for(scenario(), 90))
    keep_screenshot(shot)
    assert_fits(boxes)
    missing = {"rec-state", "preview", "return-video", "camera", "microphone", "mute", "return-volume",
               "headphones", "echo-note", "join", "hangup"} - set(boxes)
    assert not missing, f"not shown: {missing}"
    names = sorted(boxes)
    clashes = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if overlaps(boxes[a], boxes[b])]
    assert not clashes, f"overlapping at {viewport} width: {clashes} {boxes}"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
