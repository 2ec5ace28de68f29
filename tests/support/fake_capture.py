"""Chromium's fake camera and microphone fed with our own media: a grey picture that
flashes white while an 880 Hz beep sounds, at given moments of a loop."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 48_000


def flash_beep_capture(folder: Path, events_s: tuple[float, ...], loop_s: float, lit_s: float = 0.1,
                       fps: int = 30, size: tuple[int, int] = (320, 240)) -> tuple[Path, Path]:
    """Write `flash.y4m` and `beep.wav` into `folder`; each event lights the picture and
    sounds the beep for `lit_s`. Returns (y4m, wav)."""
    width, height = size
    y4m = folder / "flash.y4m"
    with open(y4m, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        chroma = np.full(width * height // 2, 128, np.uint8).tobytes()
        for index in range(int(loop_s * fps)):
            lit = any(e <= index / fps < e + lit_s for e in events_s)
            f.write(b"FRAME\n" + np.full(width * height, 235 if lit else 16, np.uint8).tobytes() + chroma)
    wav = folder / "beep.wav"
    t = np.arange(int(loop_s * RATE)) / RATE
    sounding = np.zeros_like(t, dtype=bool)
    for e in events_s:
        sounding |= (t >= e) & (t < e + lit_s)
    tone = (0.6 * np.sin(2 * np.pi * 880 * t) * sounding * 32767).astype(np.int16)
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.repeat(tone, 2).tobytes())
    return y4m, wav


def capture_flags(y4m: Path, wav: Path) -> list[str]:
    return [f"--use-file-for-fake-video-capture={y4m}", f"--use-file-for-fake-audio-capture={wav}"]
