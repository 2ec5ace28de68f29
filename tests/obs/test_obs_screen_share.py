"""A Chromium guest shares its screen: OBS gets a source "<name> (screen)" that shows the
shared screen (not the camera), beside the guest's own source; when the share stops, that
source is hidden and blanked as for any guest who leaves, while the guest's camera goes on.

The camera is a white picture (support.fake_capture); the screen is Chromium's fake
display capture, a green test picture, so each source's colour says what it shows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.cdp import CHROMIUM, Chromium
from support.fake_capture import capture_flags, flash_beep_capture
from support.obs_harness import ObsHarness, mean_rgb, obs_available, wait_until

pytestmark = [pytest.mark.obs, pytest.mark.browser, pytest.mark.slow]

SCREEN = "window.guestScreen"
# Longer than the studio's liveness checks (a dead guest is noticed within ~6 s: core/liveness.py)
# and its wait for a late camera (5 s: media/writer.py), with 4 s to spare: the share is not
# taken for lost.
SHARE_S = 10.0


def green(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return g > 60 and g > r + 40 and g > b + 40


def white(rgb: tuple[float, float, float]) -> bool:
    return min(rgb) > 200


def screen_rgb(h: ObsHarness) -> tuple[float, float, float]:
    return mean_rgb(h.screenshot_rgb("Ann (screen)"))


def scene_item_shown(h: ObsHarness, name: str) -> bool | None:
    for item in h.ws.get_scene_item_list("Scene").scene_items:
        if item["sourceName"] == name:
            return bool(item["sceneItemEnabled"])
    return None


def test_screen_share_gets_its_own_obs_source(tmp_path: Path) -> None:
    reason = obs_available() or (None if Path(CHROMIUM).exists() else "needs Debian's chromium")
    if reason:
        pytest.skip(reason)
    y4m, wav = flash_beep_capture(tmp_path, (0.0,), loop_s=2.0, lit_s=2.0)  # always lit: white

    async def scenario(h: ObsHarness) -> dict:
        out: dict = {"screen_rgb": []}
        async with Chromium(tmp_path / "profile", extra_flags=capture_flags(y4m, wav)) as browser:
            page = await browser.open(f"{h.base_url}/?name=Ann&token={h.token}")
            await page.wait_for("window.guestState.media", 15)
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestState.connected", 20)
            await page.wait_for("!document.getElementById('share-screen').disabled", 5)
            await page.evaluate("document.getElementById('share-screen').click()")
            await page.wait_for(f"{SCREEN}.phase === 'on'", 20)
            await asyncio.to_thread(wait_until, lambda: "Ann (screen)" in h.inputs_of_our_kind() or None,
                                    20, 0.1, "the screen's source")
            await asyncio.to_thread(wait_until, lambda: green(screen_rgb(h)) or None,
                                    20, 0.1, "the shared screen in OBS")
            for _ in range(int(SHARE_S / 2)):
                await asyncio.sleep(2.0)
                out["screen_rgb"].append(screen_rgb(h))
            out["camera_rgb"] = mean_rgb(h.screenshot_rgb("Ann"))
            out["status"] = h.guests()["Ann (screen)"]
            out["shown_while_sharing"] = scene_item_shown(h, "Ann (screen)")

            await page.evaluate("document.getElementById('share-screen').click()")  # Stop sharing
            await page.wait_for(f"{SCREEN}.phase === 'off'", 15)
            await asyncio.to_thread(wait_until, lambda: "Ann (screen)" not in h.guests() or None,
                                    15, 0.1, "the screen share's end")
            await asyncio.to_thread(wait_until, lambda: scene_item_shown(h, "Ann (screen)") is False or None,
                                    10, 0.1, "the screen's source hidden")
            out["awaited"] = h.awaited()
            out["screen_rgb_after"] = screen_rgb(h)
            out["ann_after"] = h.guests()["Ann"]
            out["camera_rgb_after"] = mean_rgb(h.screenshot_rgb("Ann"))
            out["sources"] = h.inputs_of_our_kind()
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 10)
        return out

    with ObsHarness(tmp_path / "obs") as h:
        h.wait_for_server()
        out = asyncio.run(asyncio.wait_for(scenario(h), 150))
        wait_until(lambda: "Ann" not in h.guests() or None, 15, 0.1, "Ann gone from the studio")
        screen_files = sorted(h.out_dir.glob("Session */Ann_screen *.webm"))
    print(f"screen source {[tuple(round(c) for c in rgb) for rgb in out['screen_rgb']]}, camera source "
          f"{tuple(round(c) for c in out['camera_rgb'])}, screen after the share {out['screen_rgb_after']}")
    assert all(green(rgb) for rgb in out["screen_rgb"]), out["screen_rgb"]
    assert white(out["camera_rgb"]), out["camera_rgb"]  # the camera's source shows the camera
    assert out["status"]["screen_of"] == "Ann" and out["status"]["recording"]
    assert out["shown_while_sharing"] is True
    assert "Ann (screen)" not in out["awaited"]  # ended, not awaited back
    assert max(out["screen_rgb_after"]) < 10, out["screen_rgb_after"]  # blanked
    assert out["ann_after"]["connected"] and out["ann_after"]["recording"]
    assert white(out["camera_rgb_after"])
    assert {"Ann", "Ann (screen)"} <= set(out["sources"])  # the source stays for the next share
    assert len(screen_files) == 1, screen_files
