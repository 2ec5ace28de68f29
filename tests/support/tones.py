"""How loud given tones are in some audio: for checking who is heard in a mix or a file."""

from __future__ import annotations

import numpy as np

RATE = 48_000


def tone_levels(
    samples: np.ndarray, freqs: list[float], rate: int = RATE, band_hz: float = 4.0,
) -> dict[float, float]:
    """dB (relative to full scale of int16) of each tone in `samples` ((n,) or (n, 2),
    left channel used): the power within `band_hz` of each frequency, Hann-windowed."""
    mono = samples[:, 0] if samples.ndim == 2 else samples
    mono = mono.astype(np.float64) / 32768.0
    if len(mono) < rate // 10:
        raise ValueError(f"too little audio to analyse: {len(mono)} samples")
    window = np.hanning(len(mono))
    spectrum = np.abs(np.fft.rfft(mono * window)) ** 2
    bin_hz = rate / len(mono)
    levels = {}
    for freq in freqs:
        low, high = int((freq - band_hz) / bin_hz), int(np.ceil((freq + band_hz) / bin_hz)) + 1
        power = spectrum[max(0, low):high].sum() / (window.sum() ** 2) * 2
        levels[freq] = 10 * np.log10(power + 1e-20)
    return levels


def write_tone_wav(path, freq: float, seconds: float = 2.0, amplitude: float = 0.3, rate: int = RATE) -> None:
    """A stereo 16-bit WAV of one tone (PyAV), e.g. a studio feed for a test."""
    import av

    n = np.arange(int(seconds * rate))
    mono = (amplitude * 32767 * np.sin(2 * np.pi * freq * n / rate)).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="stereo")
        step = 960
        for first in range(0, len(mono), step):
            chunk = np.repeat(mono[first:first + step], 2).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate = rate
            frame.pts = first
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
