"""A FIFO of stereo samples: chunks go in as they arrive, exact counts come out; the
arrival time of the oldest queued chunk says how long its samples have waited."""

from __future__ import annotations

from collections import deque

import numpy as np


class SampleQueue:
    def __init__(self) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._arrivals: deque[float] = deque()
        self._head = 0  # samples of the first chunk already taken
        self.available = 0

    def append(self, samples: np.ndarray, at: float = 0.0) -> None:
        if len(samples):
            self._chunks.append(samples)
            self._arrivals.append(at)
            self.available += len(samples)

    @property
    def head_arrival(self) -> float | None:
        """When the oldest queued samples arrived (None when empty)."""
        return self._arrivals[0] if self._arrivals else None

    def take(self, count: int) -> np.ndarray:
        """Up to `count` samples, oldest first (fewer when fewer are queued)."""
        count = min(count, self.available)
        parts = []
        needed = count
        while needed:
            chunk = self._chunks[0]
            part = chunk[self._head:self._head + needed]
            parts.append(part)
            needed -= len(part)
            self._head += len(part)
            if self._head >= len(chunk):
                self._chunks.popleft()
                self._arrivals.popleft()
                self._head = 0
        self.available -= count
        if not parts:
            return np.zeros((0, 2), dtype=np.int16)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def drop(self, count: int) -> None:
        """Forget the `count` oldest samples."""
        self.take(count)

    def clear(self) -> None:
        self._chunks.clear()
        self._arrivals.clear()
        self._head = 0
        self.available = 0
