"""The guests' latest pictures side by side in one 640x360 frame (the return video grid).

    grid = GridVideo()
    grid.set_frame("Anna", frame)      # on the loop, for every decoded frame (a reference only)
    picture = grid.compose()           # in the encoder's thread: yuv420p 640x360

Guests appear in the order they joined, each scaled to fit its cell with its own aspect
ratio kept (letter- or pillar-boxed on black). A guest whose last picture is older than
`STALE_SECONDS` (camera off, connection dropped) leaves the grid. A tile is scaled again
only when its guest sent a new picture.
"""

from __future__ import annotations

import math
import threading
import time

import av
import numpy as np

WIDTH, HEIGHT = 640, 360
STALE_SECONDS = 1.5
BLACK_Y, BLACK_UV = 16, 128


def layout(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each of `count` cells, rows of equal cells, even sizes."""
    if count <= 0:
        return []
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cell_w, cell_h = (width // cols) & ~1, (height // rows) & ~1
    cells = []
    for index in range(count):
        row, col = divmod(index, cols)
        in_row = min(cols, count - row * cols)
        left = ((width - in_row * cell_w) // 2) & ~1  # a short last row is centred
        cells.append((left + col * cell_w, ((height - rows * cell_h) // 2 & ~1) + row * cell_h,
                      cell_w, cell_h))
    return cells


def fit(src_w: int, src_h: int, cell_w: int, cell_h: int) -> tuple[int, int]:
    """The largest even size of the source's aspect ratio inside the cell."""
    scale = min(cell_w / max(1, src_w), cell_h / max(1, src_h))
    return max(2, int(src_w * scale) & ~1), max(2, int(src_h * scale) & ~1)


class _Tile:
    __slots__ = ("arrived", "frame", "scaled", "scaled_for", "version")

    def __init__(self, frame: av.VideoFrame, arrived: float) -> None:
        self.frame = frame
        self.arrived = arrived
        self.version = 0  # counts pictures, so a tile knows when to scale again
        self.scaled: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.scaled_for: tuple[int, int, int] | None = None  # (version, w, h)


class GridVideo:
    def __init__(
        self, width: int = WIDTH, height: int = HEIGHT, stale_seconds: float = STALE_SECONDS,
    ) -> None:
        self.width, self.height = width & ~1, height & ~1
        self.stale_seconds = stale_seconds
        self._tiles: dict[str, _Tile] = {}  # insertion order: who joined first
        self._lock = threading.Lock()

    def set_frame(self, key: str, frame: av.VideoFrame) -> None:
        now = time.monotonic()
        with self._lock:
            tile = self._tiles.get(key)
            if tile is None:
                self._tiles[key] = _Tile(frame, now)
            else:
                tile.frame, tile.arrived = frame, now
                tile.version += 1

    def remove(self, key: str) -> None:
        with self._lock:
            self._tiles.pop(key, None)

    def shown(self, now: float | None = None) -> list[str]:
        """The guests the next picture shows, in order."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return [k for k, t in self._tiles.items() if now - t.arrived <= self.stale_seconds]

    def compose(self) -> av.VideoFrame:
        now = time.monotonic()
        with self._lock:
            tiles = [(t, t.frame, t.version) for t in self._tiles.values()
                     if now - t.arrived <= self.stale_seconds]
        y = np.full((self.height, self.width), BLACK_Y, dtype=np.uint8)
        u = np.full((self.height // 2, self.width // 2), BLACK_UV, dtype=np.uint8)
        v = np.full((self.height // 2, self.width // 2), BLACK_UV, dtype=np.uint8)
        for (tile, frame, version), (cx, cy, cw, ch) in zip(
                tiles, layout(len(tiles), self.width, self.height), strict=True):
            w, h = fit(frame.width, frame.height, cw, ch)
            planes = self._scaled(tile, frame, version, w, h)
            x0, y0 = (cx + (cw - w) // 2) & ~1, (cy + (ch - h) // 2) & ~1
            y[y0:y0 + h, x0:x0 + w] = planes[0]
            u[y0 // 2:(y0 + h) // 2, x0 // 2:(x0 + w) // 2] = planes[1]
            v[y0 // 2:(y0 + h) // 2, x0 // 2:(x0 + w) // 2] = planes[2]
        stacked = np.concatenate([y, u.reshape(-1, self.width), v.reshape(-1, self.width)])
        return av.VideoFrame.from_ndarray(stacked, format="yuv420p")

    @staticmethod
    def _scaled(
        tile: _Tile, frame: av.VideoFrame, version: int, w: int, h: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wanted = (version, w, h)
        if tile.scaled is None or tile.scaled_for != wanted:
            planar = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
            quarter = (h // 2) * (w // 2)
            chroma = planar[h:].reshape(-1)
            tile.scaled = (planar[:h], chroma[:quarter].reshape(h // 2, w // 2),
                           chroma[quarter:].reshape(h // 2, w // 2))
            tile.scaled_for = wanted
        return tile.scaled
