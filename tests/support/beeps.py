"""Where the beeps of one pitch begin in a sound file, for timing tests.

    mono_samples(path) -> (rate, float32 mono samples from the file's time 0)
    tone_onsets(samples, rate, 1000.0) -> [seconds, ...]

The level of the tone is measured in 2.5 ms steps (a DFT bin over 5 ms), so two guests who
beep at different pitches can be told apart in a mix; an onset is the first step above half
the loudest, after at least 300 ms below it.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

STEP_SECONDS = 0.0025
WINDOW_SECONDS = 0.005


def mono_samples(path: Path) -> tuple[int, np.ndarray]:
    """The first audio stream, mixed to mono, placed by the file's own timestamps (silence
    before the first sample), from time 0."""
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        first = None
        for frame in container.decode(stream):
            if first is None:
                first = float(frame.time or 0.0)
                chunks.append(np.zeros(max(0, round(first * rate)), np.float32))
            frame.pts = None
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return rate, np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def tone_level(samples: np.ndarray, rate: int, frequency: float) -> np.ndarray:
    step, window = round(STEP_SECONDS * rate), round(WINDOW_SECONDS * rate)
    count = max(0, (samples.size - window) // step)
    if count == 0:
        return np.zeros(0)
    index = np.arange(window)
    probe = np.exp(-2j * np.pi * frequency * index / rate)
    stride = samples.strides[0]
    frames = np.lib.stride_tricks.as_strided(samples, (count, window), (stride * step, stride))
    return np.abs(frames @ probe) / window


def tone_onsets(samples: np.ndarray, rate: int, frequency: float, quiet_seconds: float = 0.3) -> list[float]:
    level = tone_level(samples, rate, frequency)
    if level.size == 0 or level.max() <= 0:
        return []
    loud = level > level.max() / 2
    onsets: list[float] = []
    last_loud = -1e9
    for i in np.flatnonzero(loud):
        t = i * STEP_SECONDS
        if t - last_loud > quiet_seconds:
            onsets.append(t)
        last_loud = t
    return onsets
