"""Pre-encoded media for load tests: senders that replay a clip cost almost nothing.

A 720p30 VP8 clip at a target bitrate and an Opus tone are encoded once (cached on disk)
and replayed in real time as av.Packets, which aiortc packetizes without encoding.
A replayed video track honours keyframe requests (PLI/FIR) by jumping to the next
keyframe of the clip, as a live encoder would send one.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

CACHE_DIR = Path("/tmp/guestrec-bench-cache")
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_TIME_BASE = fractions.Fraction(1, 48000)


@dataclass
class Clip:
    packets: list[bytes]
    keyframes: list[bool]
    frame_ticks: int  # per packet, in the track's time base

    @property
    def keyframe_indexes(self) -> list[int]:
        return [i for i, key in enumerate(self.keyframes) if key]


def _moving_picture(index: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A YUV420p picture with a moving gradient and fresh noise blocks: real work for an encoder."""
    y = np.add.outer(np.arange(height, dtype=np.uint16), np.arange(width, dtype=np.uint16))
    y = ((y + index * 6) % 256).astype(np.uint8)
    for _ in range(24):
        bx, by = rng.integers(0, width - 64), rng.integers(0, height - 64)
        y[by:by + 64, bx:bx + 64] = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    chroma[:, : (index * 4) % (width // 2)] = 90
    return np.concatenate([y.reshape(-1), chroma.reshape(-1), chroma.reshape(-1)])


def video_clip(width: int = 1280, height: int = 720, fps: int = 30, kbps: int = 6000,
               seconds: int = 6, gop: int = 60) -> Clip:
    cache = CACHE_DIR / f"vp8-{width}x{height}-{fps}-{kbps}-{seconds}-{gop}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = kbps * 1000
    codec.gop_size = gop
    codec.options = {"deadline": "good", "cpu-used": "4", "minrate": f"{kbps}k",
                     "maxrate": f"{kbps}k", "b": f"{kbps}k", "lag-in-frames": "0",
                     "keyint_min": str(gop)}
    rng = np.random.default_rng(7)
    packets: list[bytes] = []
    keys: list[bool] = []
    total = fps * seconds
    for index in range(total):
        frame = av.VideoFrame(width, height, "yuv420p")
        data = _moving_picture(index, width, height, rng)
        y_size, c_size = width * height, (width // 2) * (height // 2)
        frame.planes[0].update(data[:y_size].tobytes())
        frame.planes[1].update(data[y_size:y_size + c_size].tobytes())
        frame.planes[2].update(data[y_size + c_size:].tobytes())
        frame.pts = index
        if index % gop == 0:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in codec.encode(frame):
            packets.append(bytes(packet))
            keys.append(bool(packet.is_keyframe))
    for packet in codec.encode(None):
        packets.append(bytes(packet))
        keys.append(bool(packet.is_keyframe))
    clip = Clip(packets, keys, 90000 // fps)
    _store(cache, clip)
    return clip


def opus_clip(kbps: int = 128, seconds: int = 2, hz: float = 440.0) -> Clip:
    cache = CACHE_DIR / f"opus-{kbps}-{seconds}-{hz}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
    codec.bit_rate = kbps * 1000
    codec.time_base = AUDIO_TIME_BASE
    packets: list[bytes] = []
    samples = 960
    for index in range(seconds * 50):
        t = (np.arange(samples) + index * samples) / 48000
        tone = (0.3 * 32767 * np.sin(2 * math.pi * hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * samples, AUDIO_TIME_BASE
        packets.extend(bytes(p) for p in codec.encode(frame))
    clip = Clip(packets, [True] * len(packets), samples)
    _store(cache, clip)
    return clip


def _store(cache: Path, clip: Clip) -> None:
    # Whole or not at all: benchmarks started side by side may read it meanwhile.
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
    partial.write_bytes(pickle.dumps(clip))
    os.replace(partial, cache)


class ReplayTrack(MediaStreamTrack):
    """Replays a Clip in real time as av.Packets; counts what it sent."""

    def __init__(self, kind: str, clip: Clip, rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._clip = clip
        self._rate = rate
        self._index = 0
        self._pts = 0
        self._start: float | None = None
        self.sender = None  # set after publishing, to see keyframe requests
        self.sent = 0

    def _honour_keyframe_request(self) -> None:
        if self.sender is None or not getattr(self.sender, "_RTCRtpSender__force_keyframe", False):
            return
        self.sender._RTCRtpSender__force_keyframe = False
        later = [i for i in self._clip.keyframe_indexes if i >= self._index]
        self._index = later[0] if later else 0

    async def recv(self) -> av.Packet:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._pts / self._rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if self.kind == "video":
            self._honour_keyframe_request()
        packet = av.Packet(self._clip.packets[self._index])
        packet.pts = self._pts
        packet.time_base = fractions.Fraction(1, self._rate)
        self._index = (self._index + 1) % len(self._clip.packets)
        self._pts += self._clip.frame_ticks
        self.sent += 1
        return packet


def replay_pair(video: Clip, audio: Clip) -> tuple[ReplayTrack, ReplayTrack]:
    return ReplayTrack("audio", audio, 48000), ReplayTrack("video", video, 90000)
