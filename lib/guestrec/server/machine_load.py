"""How busy the studio's loop is, and whether another guest still fits.

Every guest's packets are handled on the engine's one asyncio loop (aiortc, the tap, the
recorder's hand-off): that loop is what fills up first when a machine takes more guests
than it can keep in real time (tests/bench/bench_recording.py, bench_sfu_pickup.py). So
the gauge measures that loop, portably: the CPU time of the loop's own thread
(`time.thread_time`, Windows, macOS and Linux) against the wall clock, and how late a
callback runs that asks to run every half second (other threads holding the interpreter,
or a machine short of cores, show there even when the loop's thread is idle).

    gauge = LoopLoad()           # on the loop
    gauge.start()
    gauge.report(guests=5)       # from any thread: {"busy": 0.62, "late_ms": 3, ...}

"Full" is said before frames are lost: at BUSY_LIMIT of the loop (or when callbacks run
LATE_LIMIT_S late), with the room left for more guests estimated from the cost per guest
so far.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

TICK_S = 0.5
WINDOW_TICKS = 10  # 5 s: long enough to smooth keyframes out, short enough to follow joins
BUSY_LIMIT = 0.8  # of one core: past this a further guest's packets start to wait
LATE_LIMIT_S = 0.1


class LoopLoad:
    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=WINDOW_TICKS + 1)
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self.busy = 0.0  # share of one core the loop's thread used over the window
        self.late_s = 0.0  # how late the ticks ran, on average over the window
        self._said_full = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tick_at(time.monotonic())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick_at(self, now: float) -> None:
        self._due = now + TICK_S
        self._handle = self._loop.call_later(TICK_S, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        self._samples.append((now, time.thread_time(), max(0.0, now - self._due)))
        if len(self._samples) > 1:
            first, last = self._samples[0], self._samples[-1]
            wall = last[0] - first[0]
            self.busy = (last[1] - first[1]) / wall if wall > 0 else 0.0
            late = [sample[2] for sample in list(self._samples)[1:]]
            self.late_s = sum(late) / len(late)
            self._say_when_full()
        self._tick_at(now)

    def _say_when_full(self) -> None:
        full = self.busy >= BUSY_LIMIT or self.late_s >= LATE_LIMIT_S
        if full and not self._said_full and len(self._samples) > WINDOW_TICKS // 2:
            log.warning("the studio is at the machine's limit (its loop %d%% busy, %d ms late): "
                        "another guest may lose frames", round(100 * self.busy), round(1000 * self.late_s))
        elif not full and self._said_full:
            log.info("the studio keeps up again (its loop %d%% busy)", round(100 * self.busy))
        self._said_full = full

    def report(self, guests: int) -> dict[str, Any]:
        """The gauge for `guests` connected guests (safe to call from any thread)."""
        busy, late = self.busy, self.late_s
        full = busy >= BUSY_LIMIT or late >= LATE_LIMIT_S
        room_for: int | None = None
        if guests > 0 and busy > 0.02:
            room_for = 0 if full else max(0, math.floor((BUSY_LIMIT - busy) / (busy / guests)))
        return {"busy": round(busy, 3), "late_ms": round(1000 * late), "guests": guests,
                "full": full, "room_for": room_for}


def load_text(report: dict[str, Any] | None) -> str:
    """One line for the OBS panel and the logs, e.g. "Machine: 45% busy, room for about 4 more guests"."""
    if not report:
        return ""
    percent = round(100 * report["busy"])
    if report["full"]:
        return (f"Machine full ({percent}% busy): another guest may lose frames. Take no more guests "
                "here, or record through Janus with sfu-record machines.")
    if report["room_for"] is None:
        return f"Machine: {percent}% busy"
    return f"Machine: {percent}% busy, room for about {report['room_for']} more guests"
