"""A 20 ms clock on the asyncio loop: calls `on_tick` once per tick, in step with real time.

Ticks are scheduled against the loop's monotonic clock, not chained sleeps, so they do
not drift. A loop too busy to tick on time catches up by at most `MAX_CATCH_UP` ticks;
ticks missed beyond that are skipped (the return loses that audio; the guests' media
and recordings never wait for it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .pcm import TICK_SECONDS

log = logging.getLogger(__name__)

MAX_CATCH_UP = 3


class TickClock:
    def __init__(self, on_tick: Callable[[], None], period: float = TICK_SECONDS) -> None:
        self._on_tick = on_tick
        self.period = period
        self._task: asyncio.Task | None = None
        self.ticks = 0
        self.skipped = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            lag = loop.time() - due
            if lag < 0:
                await asyncio.sleep(-lag)
            elif lag > MAX_CATCH_UP * self.period:
                missed = int(lag / self.period) - MAX_CATCH_UP
                self.skipped += missed
                due += missed * self.period
            due += self.period
            self.ticks += 1
            try:
                self._on_tick()
            except Exception:  # a bad tick must not stop the return for good
                log.exception("return audio: a mixing tick failed")
            if lag >= 0:
                await asyncio.sleep(0)  # catching up still lets the loop breathe
