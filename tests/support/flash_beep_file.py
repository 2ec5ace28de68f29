"""Flash-and-beep files as a browser's recorder or the studio would write them, made with PyAV.

White flashes and 880 Hz beeps at the same irregular instants (so no shift by a period can
also match), over a quiet noise floor that is the same in every file made (so the audio
cross-correlation finds one clear peak). A file can start later than another (`start_s`)
and stamp its sound later than its picture (`sound_late_s`), as Chromium's recorder does.

    write_flash_beep(path, "webm")         VP8 + Opus WebM
    write_flash_beep(path, "fmp4")         H.264 + AAC fragmented MP4, the way Safari records
    jump_times(path)                       when the "moving" picture's square jumps
"""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np

EVENTS_S = (0.5, 1.4, 2.7, 3.3, 4.8, 5.5, 6.9, 7.6)
FLASH_S = 0.1
FPS = 30
RATE = 48_000
WIDTH, HEIGHT = 160, 120
# Safari's MediaRecorder: an empty moov first, then one moof+mdat per keyframe interval.
SAFARI_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"

_KINDS = {
    "webm": ("webm", "libvpx", "libopus", {}),
    "fmp4": ("mp4", "libx264", "aac", {"movflags": SAFARI_MOVFLAGS}),
}


def _lit(t: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    on = np.zeros(t.shape, dtype=bool)
    for event in EVENTS_S:
        on |= (t >= event) & (t < event + FLASH_S)
    return on


def _sound(real_t: np.ndarray) -> np.ndarray:
    """The sound at these real times: beeps and a fixed noise floor."""
    index = np.floor(real_t * RATE).astype(np.int64)
    noise = np.random.default_rng(7).uniform(-0.02, 0.02, int(12 * RATE)).astype(np.float32)
    floor = np.where((index >= 0) & (index < noise.size), noise[np.clip(index, 0, noise.size - 1)], 0.0)
    tone = 0.6 * np.sin(2 * np.pi * 880 * real_t) * _lit(real_t)
    return (tone + floor).astype(np.float32)


def _moving_square(real_t: float) -> np.ndarray:
    """A grey picture with a white square drifting and jumping sideways at each event: its
    brightness never changes, only where things are (like a person moving)."""
    picture = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    jumps = sum(1 for event in EVENTS_S if event <= real_t)
    x = int(20 + 8 * np.sin(2 * np.pi * real_t / 3) + 70 * (jumps % 2))
    y = int(45 + 6 * np.cos(2 * np.pi * real_t / 2))
    picture[y:y + 24, x:x + 24] = 255
    return picture


def write_flash_beep(path: Path, kind: str, seconds: float = 8.5, start_s: float = 0.0,
                     sound_late_s: float = 0.0, picture: str = "flash") -> Path:
    """File time t shows real time t + start_s; its sound is that of t + start_s - sound_late_s.
    `picture`: "flash" (white flashes) or "moving" (a square that jumps at each beep)."""
    fmt, vcodec, acodec, options = _KINDS[kind]
    with av.open(str(path), "w", format=fmt, options=options) as out:
        video = out.add_stream(vcodec, rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 400_000
        video.gop_size = FPS  # a keyframe (and with fMP4 a fragment) every second
        if vcodec == "libx264":
            video.options = {"bf": "0", "preset": "veryfast"}  # a live encoder's stream
        audio = out.add_stream(acodec, rate=RATE)
        audio.layout = "mono"
        frame_size = 960 if acodec == "libopus" else 1024
        for i in range(int(seconds * FPS)):
            real_t = i / FPS + start_s + 1e-6  # frame times are exact; no rounding below one
            if picture == "moving":
                image = _moving_square(real_t)
            else:
                image = np.full((HEIGHT, WIDTH, 3), 235 if _lit(real_t) else 16, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, fractions.Fraction(1, FPS)
            out.mux(video.encode(frame))
        for i in range(int(seconds * RATE / frame_size)):
            t = (i * frame_size + np.arange(frame_size)) / RATE
            samples = _sound(t + start_s - sound_late_s)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate, frame.pts = RATE, i * frame_size
            out.mux(audio.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


def jump_times(path: Path, threshold: float = 8.0) -> list[float]:
    """Times of the frames where the picture changed far more than by drifting (the jumps)."""
    times = []
    previous = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(format="gray").astype(np.float32)
            if previous is not None and float(np.abs(gray - previous).mean()) > threshold:
                times.append(float(frame.time))
            previous = gray
    return times
