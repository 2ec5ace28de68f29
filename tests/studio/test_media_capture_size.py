"""A recording started while the guest's browser still ramps up its resolution is made at
the size the guest's camera captures (as its page reports it), not the first frame's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av

from guestrec.common.plan import make_plan
from guestrec.media import GuestMedia
from guestrec.media.writer import encode_size
from support.media_probe import ffprobe_decode_errors
from support.peer_pair import PeerPair
from support.synthetic import MovingVideoTrack, ToneAudioTrack


def test_encode_size_prefers_the_larger_camera_size() -> None:
    assert encode_size((640, 360), (1280, 720)) == (1280, 720)
    assert encode_size((640, 360), None) == (640, 360)
    assert encode_size((1280, 720), (640, 360)) == (1280, 720)  # a stale report is not a cap
    assert encode_size((641, 361), None) == (640, 360)


def test_ramping_guest_is_recorded_at_its_camera_size(tmp_path: Path) -> None:
    video = MovingVideoTrack(320, 180, fps=15)

    async def scenario() -> Path:
        media = GuestMedia("ramp")
        async with PeerPair([video, ToneAudioTrack()], on_track=media.attach) as pair:
            await pair.connected()
            media.set_capture_size(640, 360)  # what the guest page reports
            path = media.start_recording(make_plan(800), tmp_path)
            await asyncio.sleep(1.5)
            video.set_size(640, 360)  # the browser reached the camera's size
            await asyncio.sleep(1.5)
            await media.stop_recording()
            await media.close()
        return path

    path = asyncio.run(asyncio.wait_for(scenario(), 60))
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    sizes = {(f.width, f.height) for f in frames}
    assert sizes == {(640, 360)}, sizes
    assert len(frames) >= 30
    # Early frames were scaled up to fill the picture (no letterbox: the edges carry the ramp).
    early = frames[3].to_ndarray(format="gray")
    assert early[:, -20:].mean() > 40
    assert ffprobe_decode_errors(path) == ""
