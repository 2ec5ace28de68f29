"""Live reception figures of one guest, for status displays: bitrate, frame rate,
resolution and packet loss.

Counters only ever grow; rates are the difference between the newest sample and one
taken a few seconds earlier, so reading the status often (OBS polls it every second,
the HTTP API whenever asked) never shortens the window to nothing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WINDOW_S = 3.0  # rates are averaged over about this long
MIN_SPAN_S = 0.8  # a shorter span says too little; the previous figures stay shown
SAMPLE_EVERY_S = 0.5


@dataclass(frozen=True)
class _Sample:
    at: float
    bytes: int
    frames: int
    packets: int
    lost: int


class LiveStats:
    """Samples a guest's counters and turns them into current rates."""

    def __init__(self, counters: Callable[[], dict[str, int]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._counters = counters
        self._clock = clock
        self._samples: deque[_Sample] = deque(maxlen=int(WINDOW_S / SAMPLE_EVERY_S) + 2)
        self._last: dict[str, Any] = {}

    def _sample(self) -> None:
        now = self._clock()
        if self._samples and now - self._samples[-1].at < SAMPLE_EVERY_S:
            return
        c = self._counters()
        self._samples.append(_Sample(now, int(c.get("bytes", 0)), int(c.get("video_frames", 0)),
                                     int(c.get("packets", 0)), int(c.get("packets_lost", 0))))

    def figures(self) -> dict[str, Any]:
        """{"kbps", "fps", "loss_percent"} over the last few seconds (empty at first)."""
        self._sample()
        newest = self._samples[-1] if self._samples else None
        oldest = next((s for s in self._samples if newest and newest.at - s.at <= WINDOW_S), None)
        if newest is None or oldest is None or newest.at - oldest.at < MIN_SPAN_S:
            return dict(self._last)
        span = newest.at - oldest.at
        packets = newest.packets - oldest.packets
        lost = max(0, newest.lost - oldest.lost)
        expected = packets + lost
        self._last = {
            "kbps": round((newest.bytes - oldest.bytes) * 8 / span / 1000, 1),
            "fps": round((newest.frames - oldest.frames) / span, 1),
            "loss_percent": round(100.0 * lost / expected, 1) if expected > 0 else 0.0,
        }
        return dict(self._last)
