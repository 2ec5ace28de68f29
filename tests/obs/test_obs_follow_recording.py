"""Guest recordings that follow OBS's own recording, and the start/stop-all hotkeys.

OBS runs with "record guests when they join" off and "record guests while OBS records"
on: StartRecord (obs-websocket, like the Start Recording button) starts every guest's
recording, StopRecord stops them all; a guest who joins while OBS records is recorded too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.obs_harness import (
    BLUE_YUV,
    GREEN_YUV,
    BackgroundGuest,
    ObsHarness,
    decode_all,
    ffprobe,
    obs_available,
    wait_until,
)

pytestmark = [pytest.mark.obs, pytest.mark.slow]


@pytest.fixture(scope="module")
def obs_follow(tmp_path_factory):
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    settings = {"start_recording": "obs"}
    # 30 fps so that a one-frame flash at 30 fps is never skipped by OBS's own frame rate.
    harness = ObsHarness(tmp_path_factory.mktemp("obs-follow"), settings, fps=30)
    with harness:
        harness.wait_for_server()
        yield harness


def status_of(h: ObsHarness, guest: str) -> dict:
    return h.guests().get(guest) or {}


def finished_file_plays(path: Path) -> None:
    info = ffprobe(path)
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert float(info["format"]["duration"]) > 1.0
    frames = decode_all(path)
    assert frames["video"] > 0 and frames["audio"] > 0


def test_guests_record_while_obs_records(obs_follow: ObsHarness) -> None:
    h = obs_follow
    fay = BackgroundGuest(h.whip_url("Fay"), h.token, GREEN_YUV).join()
    gus = None
    try:
        wait_until(lambda: status_of(h, "Fay").get("connected") or None, 15, 0.1, "Fay to connect")
        time.sleep(3)
        assert not status_of(h, "Fay")["recording"]  # not on joining: OBS is not recording
        assert not list(h.out_dir.glob("*/Fay *.webm"))

        h.ws.start_record()
        wait_until(lambda: h.ws.get_record_status().output_active or None, 15, 0.1, "OBS to record")
        fay_rec = wait_until(lambda: status_of(h, "Fay").get("recording") and status_of(h, "Fay"),
                             15, 0.1, "Fay's recording")
        # A guest joining while OBS records is recorded from the start.
        gus = BackgroundGuest(h.whip_url("Gus"), h.token, BLUE_YUV).join()
        gus_rec = wait_until(lambda: status_of(h, "Gus").get("recording") and status_of(h, "Gus"),
                             15, 0.1, "Gus's recording")
        time.sleep(3)

        result = h.ws.stop_record()
        obs_file = Path(result.output_path)
        wait_until(lambda: not status_of(h, "Fay")["recording"] or None, 15, 0.1, "Fay's stop")
        wait_until(lambda: not status_of(h, "Gus")["recording"] or None, 15, 0.1, "Gus's stop")
        assert status_of(h, "Fay")["connected"] and status_of(h, "Gus")["connected"]
        finished_file_plays(Path(fay_rec["file"]))
        finished_file_plays(Path(gus_rec["file"]))
        assert obs_file.exists() and obs_file.parent == h.obs_record_dir.resolve()

        # The hotkeys (saved with the script) start and stop every guest by hand.
        h.ws.trigger_hotkey_by_name("guestrec_start_all")
        wait_until(lambda: (status_of(h, "Fay").get("recording") and status_of(h, "Gus").get("recording"))
                   or None, 15, 0.1, "both to record after the start hotkey")
        time.sleep(2)
        h.ws.trigger_hotkey_by_name("guestrec_stop_all")
        wait_until(lambda: (not status_of(h, "Fay")["recording"] and not status_of(h, "Gus")["recording"])
                   or None, 15, 0.1, "both to stop after the stop hotkey")
    finally:
        fay.leave()
        if gus is not None:
            gus.leave()


def _edges(times: list[float], values: list[float], threshold: float, gap: float) -> list[float]:
    """Instants where values cross above threshold, at least `gap` seconds apart."""
    found: list[float] = []
    above = False
    for t, v in zip(times, values, strict=True):
        if v > threshold and not above and (not found or t - found[-1] > gap):
            found.append(t)
        above = v > threshold
    return found


def test_obs_keeps_a_guests_picture_and_sound_together(obs_follow: ObsHarness) -> None:
    """A guest flashes white and beeps at the same instants; in OBS's own recording of
    the program the flashes and the beeps must still coincide."""
    import av
    import numpy as np

    from support.synthetic import flash_beep_pair

    h = obs_follow
    guest = BackgroundGuest(h.whip_url("Sync"), h.token,
                            tracks=lambda: list(flash_beep_pair(period=1.0, fps=30))[::-1])
    guest.join()
    try:
        wait_until(lambda: "Sync" in h.inputs_of_our_kind() or None, 15, 0.1, "Sync's source")
        time.sleep(2)  # OBS settles its buffering on the new source
        # Guests share the canvas in a grid: look at Sync's own cell of the picture.
        item = h.ws.get_scene_item_id("Scene", "Sync").scene_item_id
        spot = h.ws.get_scene_item_transform("Scene", item).scene_item_transform
        video = h.ws.get_video_settings()
        cell = (spot["positionX"] / video.base_width, spot["positionY"] / video.base_height,
                (spot["positionX"] + spot["boundsWidth"]) / video.base_width,
                (spot["positionY"] + spot["boundsHeight"]) / video.base_height)
        h.ws.start_record()
        wait_until(lambda: h.ws.get_record_status().output_active or None, 15, 0.1, "OBS to record")
        time.sleep(8)
        obs_file = Path(h.ws.stop_record().output_path)
    finally:
        guest.leave()
    wait_until(lambda: (obs_file.exists() and obs_file.stat().st_size > 0) or None, 15, 0.1, "OBS's file")
    time.sleep(1)

    with av.open(str(obs_file)) as container:
        vt, vy = [], []
        for frame in container.decode(video=0):
            y = frame.to_ndarray(format="gray")
            rows, cols = y.shape
            y = y[int(cell[1] * rows):int(cell[3] * rows), int(cell[0] * cols):int(cell[2] * cols)]
            vt.append(float(frame.time))
            vy.append(float(y.mean()))
    with av.open(str(obs_file)) as container:
        at, level = [], []
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray()
            mono = np.abs(samples).mean(axis=0) if samples.ndim == 2 else np.abs(samples)
            step = frame.sample_rate // 200  # 5 ms windows
            for i in range(0, len(mono) - step + 1, step):
                at.append(float(frame.time) + i / frame.sample_rate)
                level.append(float(mono[i:i + step].mean()))
    flashes = _edges(vt, vy, 100.0, 0.5)
    beeps = _edges(at, level, 0.05, 0.5)
    assert len(flashes) >= 5 and len(beeps) >= 5, (flashes, beeps)
    offsets = [min(beeps, key=lambda b: abs(b - f)) - f for f in flashes]
    median = float(np.median(offsets))
    print(f"OBS A/V offset of the guest (audio minus video): median {median * 1000:.0f} ms, "
          f"all {[round(o * 1000) for o in offsets]}")
    assert abs(median) <= 0.070, offsets  # about two frames at 30 fps
