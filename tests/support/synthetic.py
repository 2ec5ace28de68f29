"""Synthetic media tracks for tests: aiortc MediaStreamTrack subclasses, real-time paced.

Every track sleeps until its next frame is due, like aiortc's own VideoStreamTrack and
AudioStreamTrack, so a peer connection sends at the real rate. Timestamps start at 0:
video in 1/90000, audio in 1/48000 (the RTP clock rates).

    MovingVideoTrack(width=1280, height=720, fps=30)
        content that changes every frame (a moving gradient plus scrolling noise blocks),
        so video encoders have to spend bits; cheap to make with numpy.
    SolidVideoTrack(width, height, fps, color=(Y, U, V))
        one flat colour.
    ToneAudioTrack(frequency=440.0, amplitude=0.3)
        a sine tone, 48 kHz stereo, 20 ms frames (s16).
    flash_beep_pair(period=1.0, width=320, height=240, fps=30)
        (video, audio) sharing one clock: the video is white for one frame and the audio
        beeps (1 kHz) for `beep_seconds` at the same instants, once every `period`
        seconds, starting at t = `first_flash`; black and silent in between.
        Used to measure A/V sync of a recording.

    CounterVideoTrack(width, height, fps, bits=16, block=16)
        moving content with the frame number drawn in the top row, one bit per block
        (white = 1), so a test can tell exactly which frames a file holds.

Tracks can be told to change size mid-stream with `MovingVideoTrack.set_size(w, h)`.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)


class SharedClock:
    """A start instant shared by several tracks, fixed by whichever asks first."""

    def __init__(self) -> None:
        self.start: float | None = None

    def origin(self) -> float:
        if self.start is None:
            self.start = time.time()
        return self.start


async def _sleep_until(clock: SharedClock, seconds: float) -> None:
    wait = clock.origin() + seconds - time.time()
    if wait > 0:
        await asyncio.sleep(wait)


class _PacedVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, fps: float = 30.0, clock: SharedClock | None = None) -> None:
        super().__init__()
        self.fps = fps
        self.clock = clock or SharedClock()
        self.index = 0

    def make_frame(self, index: int, seconds: float) -> VideoFrame:
        raise NotImplementedError

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        seconds = self.index / self.fps
        await _sleep_until(self.clock, seconds)
        frame = self.make_frame(self.index, seconds)
        frame.pts = round(seconds * VIDEO_CLOCK)
        frame.time_base = VIDEO_TIME_BASE
        self.index += 1
        return frame


def _yuv_frame(y: np.ndarray, u: int | np.ndarray, v: int | np.ndarray) -> VideoFrame:
    height, width = y.shape
    frame = VideoFrame(width, height, "yuv420p")
    chroma = (height // 2, width // 2)
    planes = (y, np.broadcast_to(np.uint8(u), chroma), np.broadcast_to(np.uint8(v), chroma))
    for plane, data in zip(frame.planes, planes, strict=True):
        # Planes may be padded: copy row by row into the line size.
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : data.shape[1]] = data
    return frame


class MovingVideoTrack(_PacedVideoTrack):
    """Video whose every frame differs: moving gradient plus scrolling noise blocks."""

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        clock: SharedClock | None = None,
        seed: int = 1,
    ) -> None:
        super().__init__(fps, clock)
        self._rng = np.random.default_rng(seed)
        self.set_size(width, height)

    def set_size(self, width: int, height: int) -> None:
        """Change the frame size from the next frame on (even sizes only)."""
        self.width, self.height = width & ~1, height & ~1
        ys, xs = np.mgrid[0 : self.height, 0 : self.width]
        self._ramp = ((xs * 255 // max(1, self.width - 1) + ys // 3) % 256).astype(np.uint16)
        # A noise texture twice the frame size; each frame shows a shifted window of it.
        self._noise = self._rng.integers(
            0, 256, (self.height * 2, self.width * 2), dtype=np.uint8
        )
        block = 32
        by, bx = ys // block, xs // block
        self._block_parity = ((by + bx) % 2).astype(bool)

    def make_frame(self, index: int, seconds: float) -> VideoFrame:
        y = ((self._ramp + index * 5) % 256).astype(np.uint8)
        dy = (index * 7) % self.height
        dx = (index * 13) % self.width
        window = self._noise[dy : dy + self.height, dx : dx + self.width]
        # Noise shows in a checkerboard of blocks that swaps every half second.
        mask = self._block_parity if (index // max(1, int(self.fps / 2))) % 2 else ~self._block_parity
        # Low-amplitude noise: encoders spend bits on it but can still meet a bitrate.
        y = np.where(mask, y // 2 + (window >> 2) + 32, y)
        u = (128 + 60 * math.sin(seconds * 2.0)) // 1
        v = (128 + 60 * math.cos(seconds * 1.3)) // 1
        return _yuv_frame(y, int(u), int(v))


class CounterVideoTrack(MovingVideoTrack):
    """Moving content with the frame number in the top row (one bit per block)."""

    def __init__(self, width: int = 320, height: int = 240, fps: float = 30.0,
                 bits: int = 16, block: int = 16, clock: SharedClock | None = None) -> None:
        super().__init__(width, height, fps, clock)
        self.bits, self.block = bits, block

    def make_frame(self, index: int, seconds: float) -> VideoFrame:
        frame = super().make_frame(index, seconds)
        plane = frame.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        rows[: self.block, : self.bits * self.block] = 16
        for bit in range(self.bits):
            if index >> bit & 1:
                rows[: self.block, bit * self.block : (bit + 1) * self.block] = 235
        return frame


class SolidVideoTrack(_PacedVideoTrack):
    """One flat colour, given as (Y, U, V)."""

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        fps: float = 30.0,
        color: tuple[int, int, int] = (41, 240, 110),
        clock: SharedClock | None = None,
    ) -> None:
        super().__init__(fps, clock)
        self.width, self.height, self.color = width & ~1, height & ~1, color
        self._y = np.full((self.height, self.width), color[0], dtype=np.uint8)

    def make_frame(self, index: int, seconds: float) -> VideoFrame:
        return _yuv_frame(self._y, self.color[1], self.color[2])


class _PacedAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, clock: SharedClock | None = None) -> None:
        super().__init__()
        self.clock = clock or SharedClock()
        self.sample = 0

    def make_samples(self, first: int, count: int) -> np.ndarray:
        """Mono float samples in [-1, 1] for sample indexes first .. first+count-1."""
        raise NotImplementedError

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await _sleep_until(self.clock, self.sample / AUDIO_RATE)
        mono = self.make_samples(self.sample, AUDIO_SAMPLES)
        pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype(np.int16)
        stereo = np.repeat(pcm, 2).reshape(1, -1)  # packed s16: L R L R ...
        frame = AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.sample
        frame.time_base = AUDIO_TIME_BASE
        self.sample += AUDIO_SAMPLES
        return frame


class ToneAudioTrack(_PacedAudioTrack):
    """A continuous sine tone, 48 kHz stereo in 20 ms frames."""

    def __init__(
        self, frequency: float = 440.0, amplitude: float = 0.3, clock: SharedClock | None = None
    ) -> None:
        super().__init__(clock)
        self.frequency, self.amplitude = frequency, amplitude

    def make_samples(self, first: int, count: int) -> np.ndarray:
        n = np.arange(first, first + count)
        return self.amplitude * np.sin(2 * np.pi * self.frequency * n / AUDIO_RATE)


class FlashVideoTrack(_PacedVideoTrack):
    """Black video with one white frame at each flash instant."""

    def __init__(
        self, period: float, first_flash: float, width: int, height: int, fps: float,
        clock: SharedClock,
    ) -> None:
        super().__init__(fps, clock)
        self.period, self.first_flash = period, first_flash
        self._white = np.full((height & ~1, width & ~1), 235, dtype=np.uint8)
        self._black = np.full((height & ~1, width & ~1), 16, dtype=np.uint8)
        self._frame_seconds = 1.0 / fps

    def is_flash(self, seconds: float) -> bool:
        if seconds + 1e-9 < self.first_flash:
            return False
        phase = (seconds - self.first_flash + 1e-9) % self.period
        return phase < self._frame_seconds - 1e-9

    def make_frame(self, index: int, seconds: float) -> VideoFrame:
        return _yuv_frame(self._white if self.is_flash(seconds) else self._black, 128, 128)


class BeepAudioTrack(_PacedAudioTrack):
    """Silence with a 1 kHz beep starting exactly at each flash instant."""

    def __init__(
        self, period: float, first_flash: float, beep_seconds: float, clock: SharedClock,
        frequency: float = 1000.0,
    ) -> None:
        super().__init__(clock)
        self.period, self.first_flash = period, first_flash
        self.beep_seconds, self.frequency = beep_seconds, frequency

    def make_samples(self, first: int, count: int) -> np.ndarray:
        n = np.arange(first, first + count)
        t = n / AUDIO_RATE - self.first_flash
        phase = np.mod(t, self.period)
        on = (t >= 0) & (phase < self.beep_seconds)
        # The sine starts at phase zero at every onset, so the onset is sharp.
        return np.where(on, 0.8 * np.sin(2 * np.pi * self.frequency * phase), 0.0)


def flash_beep_pair(
    period: float = 1.0,
    width: int = 320,
    height: int = 240,
    fps: float = 30.0,
    first_flash: float = 0.5,
    beep_seconds: float = 0.1,
) -> tuple[FlashVideoTrack, BeepAudioTrack]:
    """A video and an audio track on one clock: flash and beep at the same instants."""
    clock = SharedClock()
    video = FlashVideoTrack(period, first_flash, width, height, fps, clock)
    audio = BeepAudioTrack(period, first_flash, beep_seconds, clock)
    return video, audio
