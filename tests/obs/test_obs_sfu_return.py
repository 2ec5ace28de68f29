"""A real OBS whose guests come through Debian's Janus: a guest hears OBS's track 6 (a
looping Media Source) through Janus's AudioBridge, never itself, and sees OBS's program
(a red colour source over the canvas) published by OBS into the VideoRoom."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from support.janus_rig import JanusRig, skip_without_janus
from support.obs_harness import RED_RGB, ObsHarness, close_to, obs_available, wait_until
from support.sfu_return_lines import SfuReturnLines
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels, write_tone_wav
from support.whip_client import WhipClient

pytestmark = [pytest.mark.obs, pytest.mark.slow]
OBS_HZ = 1800.0
GUEST_HZ = 600.0
HEARD_DB = -35.0
QUIET_BY_DB = 40.0
# Longer than AudioBridge's prebuffer and the second OBS takes to start reading its track
# once the studio listens; the last 4 s are judged.
LISTEN_S = 8.0


async def call(h: ObsHarness) -> tuple[dict[float, float], tuple | None, int]:
    guest = WhipClient(h.whip_url("Tess"), token=h.token,
                       tracks=[ToneAudioTrack(GUEST_HZ, amplitude=0.3), SolidVideoTrack(320, 180, 15)])
    await guest.publish()
    await guest.wait_connected(20)
    lines = SfuReturnLines(guest, ToneAudioTrack(GUEST_HZ, amplitude=0.3))
    try:
        for _ in range(50):  # OBS's own participants join the rooms as its server starts
            if await lines.open_sound() == 201:
                break
            await asyncio.sleep(0.2)
        assert await lines.open_picture() == 201
        start = time.time()
        await asyncio.sleep(LISTEN_S)
        heard = tone_levels(lines.audio_between(start + LISTEN_S - 4.0), [OBS_HZ, GUEST_HZ])
        return heard, lines.colour, len(lines.seen)
    finally:
        await lines.close()
        await guest.delete()
        await guest.close()


def test_guest_through_janus_hears_obs_track_and_sees_obs_program(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    skip_without_janus()
    tone = tmp_path / "studio-tone.wav"
    write_tone_wav(tone, OBS_HZ, seconds=2.0)
    with JanusRig(tmp_path / "janus") as rig:
        settings = {"sfu": rig.sfu, "sfu_room": rig.room, "sfu_secret": rig.api_secret,
                    "studio_track": 6, "return_video": "program",
                    "add_to_scene": False}  # the guest's own picture stays out of the program
        with ObsHarness(tmp_path / "obs", settings) as h:
            h.wait_for_server()
            scene = h.ws.get_current_program_scene().current_program_scene_name
            h.ws.create_input(scene, "Studio tone", "ffmpeg_source",
                              {"is_local_file": True, "local_file": str(tone), "looping": True}, True)
            h.ws.set_input_audio_tracks("Studio tone", {**{str(n): False for n in range(1, 6)}, "6": True})
            h.ws.create_input(scene, "Red", "color_source_v3",  # the whole canvas, red (ABGR)
                              {"color": 0xFF0000FF, "width": 4000, "height": 4000}, True)
            heard, colour, frames = asyncio.run(asyncio.wait_for(call(h), 90))
            wait_until(lambda: "Tess" not in h.guests() or None, 15, 0.5, "Tess to be gone")
            log = h.log_text()
    shown = {hz: round(db, 1) for hz, db in heard.items()}
    print(f"through Janus in OBS: heard {shown}, picture {colour}, {frames} frames")
    assert heard[OBS_HZ] > HEARD_DB, (shown, log[-3000:])
    assert heard[GUEST_HZ] < heard[OBS_HZ] - QUIET_BY_DB, shown
    assert colour is not None and close_to(colour, RED_RGB, 40), colour
    assert frames >= 5 * LISTEN_S / 2, frames
