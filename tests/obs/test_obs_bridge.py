"""The OBS bridge alone inside a real OBS: source type, frames and sound through ctypes.

A small test script (tests/support/obs_bridge_probe.py) feeds the bridge's GuestSink with
RGB video (so the I420 conversion runs) and float planar audio; OBS is checked from outside
through obs-websocket.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from support.obs_harness import ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
PROBE = Path(__file__).resolve().parent.parent / "support" / "obs_bridge_probe.py"

# BT.601 limited-range YUV of pure green, sent as RGB after a conversion
GREEN_YUV = (145, 54, 34)


@pytest.fixture(scope="module")
def probe_obs(tmp_path_factory):
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("obs-bridge")
    # The guest leaves when the test has seen what it looks for (it makes the file), at the
    # latest after 30 s.
    settings = {
        "guest": "Probe Guest", "y": GREEN_YUV[0], "u": GREEN_YUV[1], "v": GREEN_YUV[2],
        "tone_hz": 440.0, "seconds": 60.0, "pixel_format": "rgb24", "audio_format": "fltp",
        "leave_after": 30.0, "leave_file": str(workdir / "leave-now"),
    }
    harness = ObsHarness(workdir, settings, script=PROBE, defaults=False)
    harness.leave_file = Path(settings["leave_file"])
    with harness:
        yield harness


def test_source_shows_colour_plays_sound_and_clears(probe_obs: ObsHarness) -> None:
    h = probe_obs
    inputs = h.ws.get_input_list().inputs
    ours = [i for i in inputs if i["inputName"] == "Probe Guest"]
    assert ours and ours[0]["unversionedInputKind"] == "guestrec_webrtc_guest"

    # It was added to the current scene, then fitted to the canvas by the layout (which runs
    # on OBS's next tick, so it may show the default bounds for a moment).
    def fitted_item():
        items = h.ws.get_scene_item_list("Scene").scene_items
        item = next((i for i in items if i["sourceName"] == "Probe Guest"), None)
        fitted = item and item["sceneItemTransform"]["boundsType"] == "OBS_BOUNDS_SCALE_INNER"
        return item if fitted else None

    wait_until(fitted_item, 10, what="the guest's scene item fitted to the canvas")

    def picture():
        pixels = h.screenshot_rgb("Probe Guest")
        return pixels if pixels.mean() > 5 else None

    image = wait_until(picture, 10, what="a picture")
    shown_at = time.monotonic()
    mean = image.reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(mean - np.array([0, 255, 0])) < 12), mean

    peak = h.meter_peak("Probe Guest")
    assert 0.3 < peak < 0.5, peak  # the probe's tone peaks at 0.4

    # The guest leaves: the source stays but shows nothing any more. Not before 4 s of its
    # pictures (15 a second) were handed over: the stats below want more than 50.
    time.sleep(max(0.0, shown_at + 4.0 - time.monotonic()))
    h.leave_file.touch()

    def cleared() -> bool:
        try:
            pixels = h.screenshot_rgb("Probe Guest")
        except Exception:  # noqa: BLE001 - OBS refuses a screenshot of an empty (0x0) source
            return True
        return bool(pixels.mean() < 5)

    wait_until(cleared, 15, 0.1, "the picture to clear")
    assert any(i["inputName"] == "Probe Guest" for i in h.ws.get_input_list().inputs)
    stats = wait_until(lambda: h.handover_stats().get("Probe Guest"), 5, what="hand-over stats")
    assert stats["frames"] > 50
