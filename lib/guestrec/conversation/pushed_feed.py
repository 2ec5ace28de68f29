"""The studio's sound pushed in by another thread (OBS's audio thread), read by the mixer.

    feed = PushedFeed()
    feed.push(samples)            # any thread: (n, 2) int16, 48 kHz stereo, as it comes
    samples = feed.read(960)      # the mixer's tick: always (960, 2) int16

The same read(count) as StudioFeed, so the return mixer takes either. The pusher's clock
and bursts are not the mixer's: a little audio is kept in hand (`prefill`) before playing,
silence fills in when it runs dry (and it fills up again before playing on), and audio
that piles up past `high_water` is dropped from the oldest end, so what guests hear of
the studio is never more than about `high_water` late.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .pcm import RATE
from .sample_queue import SampleQueue

PREFILL_SAMPLES = RATE * 40 // 1000  # about two of OBS's 1024-sample audio ticks
HIGH_WATER_SAMPLES = RATE * 120 // 1000  # more than this waiting: the oldest goes


class PushedFeed:
    def __init__(self, prefill: int = PREFILL_SAMPLES, high_water: int = HIGH_WATER_SAMPLES) -> None:
        if not 0 <= prefill < high_water:
            raise ValueError(f"prefill ({prefill}) must be below high water ({high_water})")
        self.prefill, self.high_water = prefill, high_water
        self._lock = threading.Lock()
        self._queue = SampleQueue()
        self._playing = False
        self.pushed = 0  # samples taken in
        self.dropped = 0  # samples dropped because they piled up
        self.underruns = 0  # reads that found too little and played silence in part
        self._waited_sum = 0  # samples left waiting after each read while playing...
        self._waited_reads = 0
        self.waited_max = 0  # ...and the most: how late the studio's sound goes out
        self._read_at = -1e9  # when the mixer last read (monotonic)

    def push(self, samples: np.ndarray) -> None:
        """Take (n, 2) int16 samples; safe from any thread, never blocks for long."""
        if samples.ndim != 2 or samples.shape[1] != 2 or samples.dtype != np.int16:
            raise ValueError(f"expected (n, 2) int16 samples, got {samples.shape} {samples.dtype}")
        with self._lock:
            self._queue.append(samples)
            self.pushed += len(samples)
            excess = self._queue.available - self.high_water
            if excess > 0:  # nobody reads, or the pusher ran ahead: keep the newest
                self._queue.drop(excess)
                self.dropped += excess

    def read(self, count: int) -> np.ndarray:
        """The next `count` samples, silence where there are none."""
        out = np.zeros((count, 2), dtype=np.int16)
        self._read_at = time.monotonic()
        with self._lock:
            if not self._playing:
                if self._queue.available < self.prefill + count:
                    return out
                self._playing = True
            got = self._queue.take(count)
            if len(got) < count:
                self.underruns += 1
                self._playing = False  # fill up again before playing on
            left = self._queue.available
            self._waited_sum += left
            self._waited_reads += 1
            self.waited_max = max(self.waited_max, left)
        out[:len(got)] = got
        return out

    def read_within(self, seconds: float) -> bool:
        """Whether the mixer read lately (someone listens): the pusher may stop otherwise."""
        return time.monotonic() - self._read_at <= seconds

    @property
    def waiting_ms(self) -> float:
        """How much audio waits now, in ms (the studio's share of the return's delay)."""
        return self._queue.available * 1000 / RATE

    def status(self) -> dict[str, float | int]:
        """Counts, and how long the sound played waited here (ms, mean and most)."""
        mean = self._waited_sum / self._waited_reads if self._waited_reads else 0
        return {"pushed": self.pushed, "dropped": self.dropped, "underruns": self.underruns,
                "waiting_ms": round(self.waiting_ms, 1), "waited_ms_mean": round(mean * 1000 / RATE, 1),
                "waited_ms_max": round(self.waited_max * 1000 / RATE, 1)}

    def close(self) -> None:
        """Forget what waits; the feed still takes pushes (it outlives one engine)."""
        with self._lock:
            self._queue.clear()
            self._playing = False
