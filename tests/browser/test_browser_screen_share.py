"""Sharing the screen from the guest page in headless Chromium: "Share screen" adds a guest
"<name> (screen)" linked to its guest, recorded in a file of its own; stopping the share
(the page's button, or the browser's own "Stop sharing", which ends the track) ends that
recording cleanly, never as a lost guest awaited back, and leaves the camera alone.

Chromium's fake capture answers getDisplayMedia at once with a moving test picture of
its "screen" (800x450 here) and a fake sound (`--use-fake-ui-for-media-stream` with the
fake devices; no picker, no user gesture needed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest

from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server
from support.media_probe import decoded_video, probe, streams_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

SCREEN = "window.guestScreen"
SMALL_CAMERA = ["--use-fake-device-for-media-stream=fps=15"]
# Longer than the studio's liveness checks (a dead guest is noticed within ~6 s: core/liveness.py)
# and its wait for a late camera (5 s: media/writer.py), with 4 s to spare: a share that
# outlives them is not taken for a lost guest.
SHARE_S = 10.0


def statuses(server) -> dict[str, dict]:
    return {s["name"]: s for s in server.sessions.guest_statuses()}


async def until(check, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.1)


def test_screen_share_is_its_own_guest_and_recording(tmp_path: Path) -> None:
    out = tmp_path / "rec"

    async def scenario() -> dict:
        seen: dict = {"screen_status": []}
        # The camera is recorded at the studio and in the browser; the screen at the studio only.
        async with running_server(out, record=1000, codec="vp8", record_at="both") as server:
            async with Chromium(tmp_path / "profile", extra_flags=SMALL_CAMERA) as browser:
                page = await browser.open(f"{server.base}/?name=Ann&token={server.token}")
                await page.wait_for("window.guestState.media", 15)
                seen["button_before_join"] = await page.evaluate(
                    "[!document.getElementById('share-screen').hidden, "
                    "document.getElementById('share-screen').disabled]")
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.connected", 20)
                await page.wait_for("!document.getElementById('share-screen').disabled", 5)

                pressed = asyncio.get_running_loop().time()
                await page.evaluate("document.getElementById('share-screen').click()")
                await page.wait_for(f"{SCREEN}.phase === 'on'", 20)
                seen["page_name"] = await page.evaluate(f"{SCREEN}.name")
                seen["label_sharing"] = await page.evaluate(
                    "document.getElementById('share-screen').textContent")
                seen["note"] = await page.evaluate("document.getElementById('screen-note').textContent")
                await until(lambda: statuses(server).get("Ann (screen)", {}).get("recording"), 20,
                            "the screen's recording")
                seen["press_to_recording_s"] = asyncio.get_running_loop().time() - pressed
                for _ in range(int(SHARE_S)):
                    seen["screen_status"].append(statuses(server)["Ann (screen)"])
                    await asyncio.sleep(1.0)
                seen["page_recording"] = await page.evaluate(f"{SCREEN}.recording")

                await page.evaluate("document.getElementById('share-screen').click()")  # Stop sharing
                await page.wait_for(f"{SCREEN}.phase === 'off'", 15)
                await until(lambda: "Ann (screen)" not in statuses(server), 10, "the screen's end")
                seen["stopped_by"] = await page.evaluate(f"{SCREEN}.stoppedBy")
                seen["awaited_after_stop"] = server.sessions.awaiting_return()
                seen["ann_after_stop"] = statuses(server)["Ann"]

                # The browser's own "Stop sharing" ends the capture's tracks.
                await page.evaluate("document.getElementById('share-screen').click()")
                await page.wait_for(f"{SCREEN}.phase === 'on'", 20)
                await until(lambda: statuses(server).get("Ann (screen)", {}).get("recording"), 20,
                            "the second share's recording")
                await asyncio.sleep(3.0)
                # Ends the very tracks the page shares, as the browser's own bar does.
                await page.evaluate("window.guestScreenShare.stream.getTracks().forEach(t => { t.stop(); "
                                    "t.dispatchEvent(new Event('ended')); })")
                await page.wait_for(f"{SCREEN}.phase === 'off'", 15)
                seen["stopped_by_browser"] = await page.evaluate(f"{SCREEN}.stoppedBy")
                await until(lambda: "Ann (screen)" not in statuses(server), 10, "the second share's end")
                seen["awaited_after_browser_stop"] = server.sessions.awaiting_return()
                seen["ann_connected"] = statuses(server)["Ann"]["connected"]

                # The studio hangs up the screen alone: the page is told and stops sharing.
                await page.evaluate("document.getElementById('share-screen').click()")
                await page.wait_for(f"{SCREEN}.phase === 'on'", 20)
                await until(lambda: statuses(server).get("Ann (screen)", {}).get("recording"), 20,
                            "the third share's recording")
                await asyncio.sleep(1.0)
                await server.sessions.hang_up("Ann (screen)")
                await page.wait_for(f"{SCREEN}.phase === 'off'", 10)
                seen["stopped_by_studio"] = await page.evaluate(f"{SCREEN}.stoppedBy")
                seen["note_after_studio"] = await page.evaluate(
                    "document.getElementById('screen-note').textContent")
                seen["ann_after_studio"] = statuses(server)["Ann"]["connected"]

                await page.evaluate("document.getElementById('hangup').click()")
                await until(lambda: not statuses(server), 15, "Ann's end")
                await page.wait_for("window.guestRecorderState.finished.length > 0", 60)
                seen["browser_files"] = await page.evaluate("window.guestRecorderState.finished.length")
                seen["folder"] = server.sessions.session_folder()
        return seen

    seen = asyncio.run(scenario())
    assert seen["button_before_join"] == [True, True]  # shown (desktop Chromium), not usable yet
    assert seen["page_name"] == "Ann (screen)"
    assert seen["label_sharing"] == "Stop sharing"
    assert "camera only" in seen["note"]
    assert seen["page_recording"] is True  # the studio told the screen's page it records
    for status in seen["screen_status"]:
        assert status["connected"] and status["recording"], status
        assert status["screen_of"] == "Ann"
        assert status["record_at"] == "studio" and status["guest_recording"] is None, status
    assert seen["stopped_by"] == "button" and seen["stopped_by_browser"] == "browser"
    # Ended, not held for a return; the camera went on all along.
    assert seen["awaited_after_stop"] == [] and seen["awaited_after_browser_stop"] == []
    assert seen["ann_after_stop"]["connected"] and seen["ann_after_stop"]["recording"]
    assert seen["ann_after_stop"]["screen_of"] is None
    assert seen["ann_connected"]
    assert seen["stopped_by_studio"] == "studio" and "studio ended" in seen["note_after_studio"]
    assert seen["ann_after_studio"]
    assert seen["browser_files"] == 1  # the browser recorded its camera, once

    folder = Path(seen["folder"])
    manifest = json.loads((folder / "session.json").read_text())
    screens = [f for f in manifest["files"] if f["guest"] == "Ann (screen)"]
    cameras = [f for f in manifest["files"] if f["guest"] == "Ann" and ".guest." not in f["file"]]
    assert len(screens) == 3 and len(cameras) == 1, manifest
    assert all(f["screen_of"] == "Ann" and f["status"] == "complete" for f in screens), screens
    assert "screen_of" not in cameras[0] and cameras[0]["status"] == "complete"

    first = folder / screens[0]["file"]
    info = probe(first)
    video = streams_of(info, "video")[0]
    assert streams_of(info, "audio"), "the shared sound is recorded"
    times = [t for t, _ in decoded_video(first, lambda frame: None)]
    assert times[-1] - times[0] >= SHARE_S - 1.0, (times[0], times[-1])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 1.5, max(gaps)  # frames all along the shared span
    # The camera's one file spans both shares, its frames unbroken by them.
    camera_file = cameras[0]
    assert camera_file["start_seconds"] <= screens[0]["start_seconds"]
    assert camera_file["end_seconds"] >= max(f["end_seconds"] for f in screens), manifest
    camera = probe(folder / camera_file["file"])
    camera_video = streams_of(camera, "video")[0]
    # The fake screen (800x450) and the fake camera (1280x720) differ: each file holds its own.
    assert (video["width"], video["height"]) != (camera_video["width"], camera_video["height"])
    camera_times = [t for t, _ in decoded_video(folder / camera_file["file"], lambda frame: None)]
    assert max(b - a for a, b in itertools.pairwise(camera_times)) < 1.5
    print(f"Share screen pressed -> studio records it: {seen['press_to_recording_s']:.2f} s; "
          f"screen: {len(times)} frames over {times[-1] - times[0]:.1f} s, "
          f"{video['width']}x{video['height']}; camera {camera_times[-1] - camera_times[0]:.1f} s; "
          f"manifest {json.dumps(manifest['files'])}")
