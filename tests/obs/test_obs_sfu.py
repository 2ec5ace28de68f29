"""A real OBS with its guests going through Debian's Janus (in a network namespace): the
guest keeps OBS's WHIP URL and token, OBS relays it into the VideoRoom, subscribes to it,
shows it as its own source and records it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.janus_rig import JanusRig, skip_without_janus
from support.obs_harness import (
    RED_RGB,
    RED_YUV,
    BackgroundGuest,
    ObsHarness,
    close_to,
    decode_all,
    ffprobe,
    mean_rgb,
    obs_available,
    wait_until,
)
from support.sfu_files import recordings

pytestmark = [pytest.mark.obs, pytest.mark.slow]


def test_guest_through_janus_is_shown_in_obs_and_recorded(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    skip_without_janus()
    with JanusRig(tmp_path / "janus") as rig:
        settings = {"sfu": rig.sfu, "sfu_room": rig.room, "sfu_secret": rig.api_secret}
        with ObsHarness(tmp_path / "obs", settings) as h:
            out_dir = h.out_dir
            h.wait_for_server()
            guest = BackgroundGuest(h.whip_url("Rosa"), h.token, RED_YUV).join()
            try:
                wait_until(lambda: "Rosa" in h.inputs_of_our_kind() or None, 15, what="Rosa's source")
                wait_until(lambda: close_to(mean_rgb(h.screenshot_rgb("Rosa")), RED_RGB) or None,
                           20, 0.1, "Rosa's red picture")
                peak = h.meter_peak("Rosa")
                assert 0.15 < peak < 0.5, f"Rosa's tone peak {peak}"
                status = wait_until(lambda: (h.guests().get("Rosa") or {}).get("recording")
                                    and h.guests()["Rosa"],
                                    20, 0.1, "Rosa's recording")
                assert status["client"] == "janus", status
                time.sleep(2)
            finally:
                guest.leave()
            wait_until(lambda: "Rosa" not in h.guests() or None, 15, 0.1, "Rosa to be gone")
            lines = h.guestrec_log_lines()
            assert any("publishes into room" in line for line in lines), lines[-20:]
    (path,) = recordings(out_dir)["Rosa"]
    assert path.name == Path(status["file"]).name
    info = ffprobe(path)
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert float(info["format"]["duration"]) >= 2.0
    frames = decode_all(path)
    assert frames["audio"] > 0 and frames["video"] > 0, frames
