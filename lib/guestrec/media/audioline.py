"""Decoded audio onto a gapless sample line: 48 kHz stereo float, fixed-size chunks.

Frames arrive with a timeline time each. Small jitter in those times is ignored (the audio
stays sample-continuous); a real gap (lost packets, the guest's network stalled) is filled
with silence and an overlap is cut, so audio stays where the timeline puts it and a file
converted to WAV (which has no timestamps) keeps its sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import av
import numpy as np

RATE = 48_000
CHUNK = 960  # 20 ms: what the Opus encoder takes
TOLERANCE = 960  # 20 ms: closer than this counts as continuous
MAX_FILL = RATE * 30  # never make more than 30 s of silence at once
# The line may run ahead of the wall clock by this much, no more: a guest whose timestamps
# leap forward on every packet must not be able to fill the disk with made-up silence.
WALL_CLOCK_SLACK = 2.0


class AudioLine:
    def __init__(self, chunk: int = CHUNK, clock: Callable[[], float] = time.monotonic) -> None:
        self.chunk = chunk
        self._clock = clock
        self._wall_start = 0.0
        self._line_start = 0
        self._resampler = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
        self.next_sample: int | None = None  # line position of the next sample
        self._pending = np.zeros((0, 2), dtype=np.float32)
        self._pending_start = 0
        self.gaps = 0
        self.gap_samples = 0
        self.trimmed_samples = 0

    def _to_float(self, frame: av.AudioFrame) -> np.ndarray:
        frame.pts = None  # the resampler checks continuity itself otherwise
        out = []
        for converted in self._resampler.resample(frame):
            out.append(converted.to_ndarray().reshape(-1, 2))
        if not out:
            return np.zeros((0, 2), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def push(self, frame: av.AudioFrame, start: int) -> list[tuple[int, np.ndarray]]:
        """Add a frame that starts at line sample `start`; returns full chunks (pos, samples)."""
        samples = self._to_float(frame)
        if len(samples) == 0:
            return []
        if self.next_sample is None:
            self.next_sample = max(0, start)
            self._pending_start = self.next_sample
            self._wall_start, self._line_start = self._clock(), self.next_sample
            if start < 0:  # begins before the line does: keep only the part after 0
                self.trimmed_samples += min(len(samples), -start)
                samples = samples[-start:]
        else:
            drift = start - self.next_sample
            if drift > TOLERANCE:
                wall = (self._clock() - self._wall_start + WALL_CLOCK_SLACK) * RATE
                allowed = int(wall) - (self.next_sample - self._line_start)
                fill = max(0, min(drift, MAX_FILL, allowed))
                self.gaps += 1
                self.gap_samples += fill
                samples = np.concatenate([np.zeros((fill, 2), dtype=np.float32), samples])
            elif drift < -TOLERANCE:
                cut = min(len(samples), -drift)
                self.trimmed_samples += cut
                samples = samples[cut:]
        if len(samples):
            self._pending = np.concatenate([self._pending, samples])
            self.next_sample += len(samples)
        return self._take(full_only=True)

    def _take(self, full_only: bool) -> list[tuple[int, np.ndarray]]:
        chunks = []
        while len(self._pending) >= self.chunk or (not full_only and len(self._pending)):
            part = self._pending[: self.chunk]
            self._pending = self._pending[len(part):]
            chunks.append((self._pending_start, part))
            self._pending_start += len(part)
        return chunks

    @property
    def emitted_until(self) -> int | None:
        """Line position right after the last chunk handed out (None before any audio)."""
        return None if self.next_sample is None else self._pending_start

    def flush(self) -> list[tuple[int, np.ndarray]]:
        """The remaining samples as a last, shorter chunk."""
        return self._take(full_only=False)


def make_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    """A flt stereo frame from (n, 2) float samples."""
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="stereo"
    )
    frame.sample_rate = RATE
    frame.pts = pts
    return frame
