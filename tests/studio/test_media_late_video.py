"""Audio from the first packet: a camera that starts late or never loses no speech."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import audio_samples, probe, streams_of
from support.synthetic import MovingVideoTrack, ToneAudioTrack


class LateTrack(MediaStreamTrack):
    """Sends nothing for `delay` seconds (None: ever), then what `inner` makes."""

    def __init__(self, inner: MediaStreamTrack, delay: float | None) -> None:
        super().__init__()
        self.kind = inner.kind
        self.inner, self.delay = inner, delay
        self._waited = False

    async def recv(self):
        if not self._waited:
            if self.delay is None:
                await asyncio.Event().wait()  # a camera that never delivers a frame
            await asyncio.sleep(self.delay)
            self._waited = True
        return await self.inner.recv()


def tone_coverage(path: Path) -> tuple[float, float, float]:
    """(first audio time, seconds of audio, share of 20 ms blocks that carry the tone)."""
    start, samples = audio_samples(path)
    blocks = samples[: len(samples) // 960 * 960].reshape(-1, 960)
    loud = float(np.mean(np.abs(blocks).max(axis=1) > 0.1)) if len(blocks) else 0.0
    return start, len(samples) / 48_000, loud


@pytest.mark.parametrize("codec", ["vp8", "copy"])
def test_late_camera_keeps_the_first_seconds_of_audio(tmp_path: Path, codec: str) -> None:
    spec = GuestSpec("late", [LateTrack(MovingVideoTrack(320, 240, fps=15), 3.0), ToneAudioTrack()],
                     make_plan(1000, codec=codec), tmp_path)
    (result,) = asyncio.run(record_guests([spec], seconds=6.0, warmup=0.3))
    info = probe(result.path)
    (video,) = streams_of(info, "video")
    start, seconds, loud = tone_coverage(result.path)
    side = read_sidecar(result.path)
    video_start = float(video["start_time"])
    print(f"{codec}: audio from {start:.2f} s for {seconds:.2f} s (tone in {loud:.0%}), "
          f"video from {video_start:.2f} s; recorded {result.elapsed:.2f} s; "
          f"sidecar {side['status']} {side['frames']}, "
          f"av offset {side['av_sync']['audio_start_minus_video_start_ms']} ms")
    assert start < 0.1
    assert seconds >= result.elapsed - 0.6  # the whole time the guest spoke
    assert loud > 0.97
    assert 2.0 < video_start < 3.6  # the camera's frames come about 3 s after the speech
    assert side["status"] == "complete" and side["video"]["frames"] > 20


def test_camera_that_never_sends_still_leaves_an_audio_file(tmp_path: Path) -> None:
    spec = GuestSpec("blind", [LateTrack(MovingVideoTrack(320, 240, fps=15), None), ToneAudioTrack()],
                     make_plan(1000), tmp_path)
    (result,) = asyncio.run(record_guests([spec], seconds=4.0, warmup=0.3))
    assert result.summary is not None, "no recording summary"
    files = sorted(p.name for p in tmp_path.iterdir())
    media = [p for p in tmp_path.iterdir() if p.suffix != ".json"]
    assert len(media) == 1, files
    info = probe(media[0])
    assert not streams_of(info, "video") and streams_of(info, "audio")
    _start, seconds, loud = tone_coverage(media[0])
    side = read_sidecar(media[0])
    print(f"camera never sent: {files}; audio {seconds:.2f} s of {result.elapsed:.2f} s, "
          f"sidecar {side['status']}")
    assert seconds >= result.elapsed - 0.6 and loud > 0.97
    assert side["status"] == "complete" and side["video"] is None and side["audio"]["seconds"] > 3
