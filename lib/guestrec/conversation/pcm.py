"""The return feed's one audio format: 48 kHz stereo int16, in 20 ms ticks of 960 samples.

Samples travel as numpy arrays of shape (n, 2). `StereoPcm` turns any decoded frame into
that (aiortc's Opus decoder already gives s16 stereo 48 kHz, so it is a reshape; other
formats go through a resampler made on first need).
"""

from __future__ import annotations

import fractions

import av
import numpy as np

RATE = 48_000
TICK_SAMPLES = 960  # 20 ms
TICK_SECONDS = TICK_SAMPLES / RATE
TIME_BASE = fractions.Fraction(1, RATE)


def silence(samples: int = TICK_SAMPLES) -> np.ndarray:
    return np.zeros((samples, 2), dtype=np.int16)


def to_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    """An s16 stereo frame of `samples` (n, 2) int16, with its pts in 1/48000."""
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = RATE
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


class StereoPcm:
    """Decoded audio frames of one source to (n, 2) int16 at 48 kHz."""

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        if (frame.format.name == "s16" and frame.layout.name == "stereo"
                and frame.sample_rate == RATE):
            return frame.to_ndarray().reshape(-1, 2)
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        parts = [out.to_ndarray().reshape(-1, 2) for out in self._resampler.resample(frame)]
        if not parts:
            return np.zeros((0, 2), dtype=np.int16)
        return np.concatenate(parts)
