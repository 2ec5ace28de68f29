"""A picture pushed in by another thread (OBS's video thread), as the return video's source.

    picture = PushedPicture()                     # 640x360, like the grid
    if picture.wanted():                           # the pusher's thread: skip work nobody uses
        picture.push(y, u, v)                      # I420 planes (copies kept, rows trimmed)
    frame = picture.compose()                      # the encoder's thread: yuv420p 640x360

The encoder asks for a picture at its own rate (15 a second at most); the pusher is told
to push only while someone asked lately and at most `max_fps` times a second, so a
60 fps OBS costs no more than the return needs. Before the first picture, and when
pushes stop for longer than `stale_seconds`, the picture is black.
"""

from __future__ import annotations

import threading
import time

import av
import numpy as np

from .grid_video import BLACK_UV, BLACK_Y, HEIGHT, WIDTH

MAX_FPS = 15
WANTED_FOR_SECONDS = 1.0  # an encoder that stopped asking stops the copies this soon
STALE_SECONDS = 2.0


class PushedPicture:
    def __init__(self, width: int = WIDTH, height: int = HEIGHT, max_fps: float = MAX_FPS,
                 stale_seconds: float = STALE_SECONDS) -> None:
        self.width, self.height = width & ~1, height & ~1
        self.min_interval = 1.0 / max_fps
        self.stale_seconds = stale_seconds
        self._lock = threading.Lock()
        self._planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._pushed_at = 0.0
        self._asked_at = -1e9
        self.pushed = 0  # pictures taken in
        self.composed = 0  # pictures handed to the encoder

    def wanted(self, now: float | None = None) -> bool:
        """Whether a push now would be used: someone asked lately, and the last push is old
        enough for the rate (any thread; cheap)."""
        now = time.monotonic() if now is None else now
        return now - self._asked_at <= WANTED_FOR_SECONDS and now - self._pushed_at >= self.min_interval

    def asked_within(self, seconds: float) -> bool:
        """Whether the encoder asked for a picture lately (someone watches)."""
        return time.monotonic() - self._asked_at <= seconds

    def push(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """I420 planes of at least width x height (chroma half that); wider rows (a stride)
        are trimmed. Arrays the caller reuses must be copies (these are kept as given)."""
        h, w = self.height, self.width
        if y.shape[0] < h or y.shape[1] < w or u.shape[0] < h // 2 or u.shape[1] < w // 2 \
                or v.shape[0] < h // 2 or v.shape[1] < w // 2:
            raise ValueError(f"planes {y.shape}, {u.shape}, {v.shape} are smaller than {w}x{h} I420")
        planes = (y[:h, :w], u[:h // 2, :w // 2], v[:h // 2, :w // 2])
        with self._lock:
            self._planes = planes
            self._pushed_at = time.monotonic()
            self.pushed += 1

    def compose(self) -> av.VideoFrame:
        """The latest picture as yuv420p (black before the first or once pushes stop)."""
        now = time.monotonic()
        with self._lock:
            self._asked_at = now
            planes = self._planes if now - self._pushed_at <= self.stale_seconds else None
        self.composed += 1
        h, w = self.height, self.width
        if planes is None:
            y = np.full((h, w), BLACK_Y, dtype=np.uint8)
            u = v = np.full((h // 2, w // 2), BLACK_UV, dtype=np.uint8)
        else:
            y, u, v = planes
        stacked = np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)])
        return av.VideoFrame.from_ndarray(stacked, format="yuv420p")
