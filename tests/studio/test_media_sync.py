"""Lip sync: flashes and beeps sent at the same instants land together in the recording.

The video path is delayed by 300 ms on the way in (a slower network path), so a recorder
that placed frames by arrival time would be 300 ms off; the RTCP sender reports must
bring audio and video back together.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import numpy as np
import pytest

from support.flash_sync import flash_beep_pairs, record_flash_beep, watch_flash_beep
from support.media_probe import flash_times, pair_offsets, probe, streams_of

VIDEO_DELAY = 0.3
RECORD_SECONDS = 11.0
MAX_OFFSET = 0.020


def measured_offsets(path: Path) -> list[float]:
    return [offset for _, offset in flash_beep_pairs(path)]


@pytest.mark.parametrize("codec", ["vp8", "copy"])
def test_flash_and_beep_stay_together(tmp_path: Path, codec: str) -> None:
    path, summary = asyncio.run(record_flash_beep(tmp_path, codec, RECORD_SECONDS, VIDEO_DELAY))
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


class CollectingSink:
    """A GuestSink that keeps what a live view would show: flash and beep times."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.video: list[tuple[float, float]] = []  # (seconds, mean luma)
        self.audio: list[tuple[float, np.ndarray]] = []  # (seconds, mono samples)

    def on_connected(self) -> None:
        self.events.append("connected")

    def on_disconnected(self) -> None:
        self.events.append("disconnected")

    def on_video(self, frame, timestamp_ns: int) -> None:
        self.video.append((timestamp_ns / 1e9, float(frame.to_ndarray(format="gray").mean())))

    def on_audio(self, frame, timestamp_ns: int) -> None:
        pcm = frame.to_ndarray().reshape(-1, frame.layout.nb_channels if frame.format.is_packed else 1)
        self.audio.append((timestamp_ns / 1e9, pcm[:, 0].astype(np.float32) / 32768.0))


def test_sink_timestamps_put_audio_and_video_together() -> None:
    sink = CollectingSink()

    media = asyncio.run(watch_flash_beep(sink, 7.5, VIDEO_DELAY))
    assert sink.events == ["connected", "disconnected"]
    # Sender reports arrive within the first ~2 s; from then on the live timestamps are synced.
    settled = sink.video[0][0] + 2.5
    flashes = [t for t in flash_times(sink.video) if t > settled]
    beeps = []
    quiet_until = -1.0
    for t, samples in sink.audio:
        loud = np.flatnonzero(np.abs(samples) > 0.2)
        if len(loud) and t + loud[0] / 48_000 > quiet_until:
            beeps.append(t + loud[0] / 48_000)
        if len(loud):
            quiet_until = t + loud[-1] / 48_000 + 0.3
    offsets = pair_offsets(flashes, beeps)
    print(f"live: A/V offsets ms {[round(float(o) * 1000, 1) for o in offsets]}")
    assert len(offsets) >= 3
    assert abs(statistics.fmean(offsets)) <= MAX_OFFSET
    assert media.stats()["timeline"]["mode"] == "sr"
