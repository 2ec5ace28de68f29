"""Lip sync: flashes and beeps sent at the same instants land together in the recording.

The video path is delayed by 300 ms on the way in (a slower network path), so a recorder
that placed frames by arrival time would be 300 ms off; the RTCP sender reports must
bring audio and video back together.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest

from guestrec.media import GuestMedia
from guestrec.plan import make_plan
from support.media_probe import (
    audio_samples, beep_times, flash_times, pair_offsets, probe, streams_of, video_luma,
)
from support.peer_pair import PeerPair, delay_incoming_rtp
from support.synthetic import flash_beep_pair

VIDEO_DELAY = 0.3
RECORD_SECONDS = 11.0
MAX_OFFSET = 0.020


async def record_flashes(tmp_path: Path, codec: str) -> tuple[Path, dict]:
    media = GuestMedia("sync")

    def on_track(receiver, track) -> None:
        media.attach(receiver, track)
        if track.kind == "video":
            delay_incoming_rtp(receiver, VIDEO_DELAY)

    video, audio = flash_beep_pair(period=1.0, width=320, height=240, fps=30)
    async with PeerPair([video, audio], on_track=on_track) as pair:
        await pair.connected()
        path = media.start_recording(make_plan(2000, codec=codec), tmp_path)
        await asyncio.sleep(RECORD_SECONDS)
        summary = await media.stop_recording()
        await media.close()
    return path, summary


def measured_offsets(path: Path) -> list[float]:
    videos = flash_times(video_luma(path))
    start, samples = audio_samples(path)
    audios = beep_times(start, samples)
    return pair_offsets(videos, audios)


@pytest.mark.parametrize("codec", ["vp8", "copy"])
def test_flash_and_beep_stay_together(tmp_path: Path, codec: str) -> None:
    path, summary = asyncio.run(record_flashes(tmp_path, codec))
    info = probe(path)
    assert streams_of(info, "video") and streams_of(info, "audio")
    offsets = measured_offsets(path)
    # about one flash per second of recording, each with its beep
    assert len(offsets) >= RECORD_SECONDS - 3, offsets
    mean = statistics.fmean(offsets)
    print(f"{codec}: A/V offsets (audio - video) ms: {[round(float(o) * 1000, 1) for o in offsets]}")
    assert abs(mean) <= MAX_OFFSET, f"mean A/V offset {mean * 1000:.1f} ms"
    assert max(abs(o) for o in offsets) <= MAX_OFFSET + 0.034  # one video frame of jitter
    assert summary["av_sync"]["timeline"]["mode"] == "sr"
