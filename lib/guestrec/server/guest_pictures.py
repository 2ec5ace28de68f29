"""A small, fresh picture of each guest for the control room: one more GuestSink per guest
keeps only the latest decoded frame (a reference, no copy), and a JPEG is made of it
when asked, at most once per frame, in a worker thread so the loop never waits on it."""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections.abc import Callable

import av

PICTURE_WIDTH = 320
LOOK_LASTS_S = 15.0  # pictures are decoded this long after the control room last asked
JPEG_QSCALE = 6  # FFmpeg's mjpeg quantizer: 2 best .. 31 worst


class LatestFrame:
    """A GuestSink that keeps one guest's latest video frame."""

    def __init__(self, on_gone: Callable[[LatestFrame], None],
                 looked_at: Callable[[], bool] = lambda: True) -> None:
        self.frame: av.VideoFrame | None = None
        self._looked_at = looked_at
        self.count = 0  # frames seen, so a picture is made once per frame
        self._on_gone = on_gone

    def wants_decoded(self, kind: str) -> bool:
        """Pictures only, and only while somebody looks at the control room (decoding every
        guest's video for nobody costs the studio more than recording them)."""
        return kind == "video" and self._looked_at()

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None:
        self.frame = frame
        self.count += 1

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None:
        pass

    def on_connected(self) -> None:
        pass

    def on_disconnected(self) -> None:
        self.frame = None
        self._on_gone(self)


def encode_jpeg(frame: av.VideoFrame, width: int = PICTURE_WIDTH) -> bytes:
    """The frame scaled to `width` (aspect kept, even sizes) as a baseline JPEG."""
    width = min(width, frame.width) // 2 * 2 or 2
    height = max(2, round(frame.height * width / frame.width) // 2 * 2)
    small = frame.reformat(width=width, height=height, format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"qscale": str(JPEG_QSCALE)}
    codec.flags |= av.codec.context.Flags.qscale
    small.pts = 0
    packets = codec.encode(small) + codec.encode(None)
    return b"".join(bytes(p) for p in packets)


class GuestPictures:
    """Every guest's LatestFrame, by name. The sinks are fed on the loop; pictures are
    asked for on the loop too."""

    def __init__(self) -> None:
        self._keepers: dict[str, LatestFrame] = {}
        self._made: dict[str, tuple[int, bytes]] = {}  # name -> (frame count, jpeg)
        self._lock = threading.Lock()
        self._last_look = float("-inf")  # when the control room last asked about a picture

    def sink_for(self, name: str) -> LatestFrame:
        keeper = LatestFrame(on_gone=lambda k: self._gone(name, k), looked_at=self._looked_at_lately)
        with self._lock:
            self._keepers[name] = keeper
            self._made.pop(name, None)
        return keeper

    def _gone(self, name: str, keeper: LatestFrame) -> None:
        with self._lock:
            if self._keepers.get(name) is keeper:
                del self._keepers[name]
                self._made.pop(name, None)

    def _looked_at_lately(self) -> bool:
        return time.monotonic() - self._last_look < LOOK_LASTS_S

    def frames_seen(self, name: str) -> int:
        """Frames of `name` so far; asking is looking (the control room shows the guests)."""
        self._last_look = time.monotonic()
        keeper = self._keepers.get(name)
        return keeper.count if keeper is not None else 0

    async def jpeg(self, name: str) -> bytes | None:
        """The guest's latest picture as JPEG, None when there is none (yet)."""
        self._last_look = time.monotonic()
        keeper = self._keepers.get(name)
        frame = keeper.frame if keeper is not None else None
        if keeper is None or frame is None:
            return None
        count = keeper.count
        made = self._made.get(name)
        if made is not None and made[0] == count:
            return made[1]
        data = await asyncio.to_thread(encode_jpeg, frame)
        with self._lock:
            if self._keepers.get(name) is keeper:
                self._made[name] = (count, data)
        return data
