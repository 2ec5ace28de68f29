"""The mix-minus: every listener hears every input except its own, 20 ms at a time.

    mixer = MixMinus()
    mixer.push("Anna", samples)          # (n, 2) int16 as it arrives, any n
    mixer.add_output("Anna")             # Anna listens; her own input is left out
    mixes = mixer.tick()                 # {"Anna": (960, 2) int16, ...} every 20 ms

Inputs arrive in bursts and at clocks that drift from ours, so each has a small jitter
allowance: an input is heard from the first tick at which it holds a whole tick that
waited at least `jitter_seconds` (so a packet a little late still makes its tick, and
the delay added is the allowance plus, on average, half a tick). When it runs dry it is
silent until the same holds again (one underrun). An input that held a whole tick more
than its allowance for a whole second (early packets after late ones, or a sender clock
running fast) loses its oldest tick, so the delay does not creep up; one that holds far
more (a burst) keeps only its newest tick.

An input is heard by every listener but itself, or, given `heard_by`, only by those
listeners (talkback: the studio speaking to one guest). An input may also be kept from
some listeners besides itself (a guest's screen share is not played back to that guest,
who hears the shared sound already). A listener on hold hears
nothing and is heard by nobody. Mixing is done in float, so a listener's mix never
carries a trace of its own voice; a mix too loud for 16 bits is turned down by the
listener's limiter (limiter.py), not clipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .limiter import Limiter
from .pcm import TICK_SAMPLES, TICK_SECONDS
from .sample_queue import SampleQueue

DEFAULT_JITTER_SECONDS = 0.010  # how long a tick's samples wait, at least, before playing
DEFAULT_EXCESS_SAMPLES = 2880  # 60 ms queued beyond a tick: only the newest tick is kept
DRAIN_TICKS = 50  # a second of waiting longer than needed before a tick is dropped


@dataclass
class InputStats:
    underruns: int = 0  # times the input ran dry while heard
    dropped_samples: int = 0  # samples dropped to keep the delay bounded
    mixed_ticks: int = 0
    held_seconds: float = 0.0  # summed over mixed ticks: how long played samples had waited
    held_max: float = 0.0
    drained: int = 0  # ticks dropped because the input was waiting longer than needed

    @property
    def held_mean(self) -> float:
        return self.held_seconds / self.mixed_ticks if self.mixed_ticks else 0.0


@dataclass
class _Input:
    jitter: float  # seconds
    heard_by: frozenset[str] | None  # None: every listener but itself
    queue: SampleQueue = field(default_factory=SampleQueue)
    primed: bool = False
    waiting_since: float | None = None  # when the samples to start with arrived
    least_held: float = float("inf")  # the shortest wait over the current second
    ticks_watched: int = 0
    stats: InputStats = field(default_factory=InputStats)

    def push(self, samples: np.ndarray, now: float) -> None:
        if not self.primed and self.waiting_since is None:
            self.waiting_since = now
        self.queue.append(samples, now)

    def next_tick(self, excess: int, now: float) -> np.ndarray | None:
        """The samples this input plays this tick, None while silent."""
        queue = self.queue
        if queue.available > TICK_SAMPLES + excess:
            surplus = queue.available - TICK_SAMPLES
            queue.drop(surplus)
            self.stats.dropped_samples += surplus
        if not self.primed:
            if (queue.available < TICK_SAMPLES or self.waiting_since is None
                    or now - self.waiting_since < self.jitter - 1e-6):
                return None
            self.primed = True
        self._drain_if_late(now)
        arrived = queue.head_arrival
        if arrived is not None:
            held = now - arrived
            self.stats.held_seconds += held
            self.stats.held_max = max(self.stats.held_max, held)
        samples = queue.take(TICK_SAMPLES)
        self.stats.mixed_ticks += 1
        if len(samples) < TICK_SAMPLES:
            self.primed = False
            self.waiting_since = None
            self.stats.underruns += 1
            padded = np.zeros((TICK_SAMPLES, 2), dtype=np.int16)
            padded[:len(samples)] = samples
            return padded
        return samples


    def _drain_if_late(self, now: float) -> None:
        """Drop the oldest tick when every tick of the last second waited a tick longer
        than the allowance asks (and one stays queued after that)."""
        arrived = self.queue.head_arrival
        if arrived is None:
            return
        self.least_held = min(self.least_held, now - arrived)
        self.ticks_watched += 1
        if self.ticks_watched < DRAIN_TICKS:
            return
        if self.least_held >= self.jitter + TICK_SECONDS and self.queue.available >= 2 * TICK_SAMPLES:
            self.queue.drop(TICK_SAMPLES)
            self.stats.drained += 1
            self.stats.dropped_samples += TICK_SAMPLES
        self.least_held, self.ticks_watched = float("inf"), 0


class MixMinus:
    def __init__(
        self,
        jitter_seconds: float = DEFAULT_JITTER_SECONDS,
        excess_samples: int = DEFAULT_EXCESS_SAMPLES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jitter_seconds = jitter_seconds
        self.excess_samples = excess_samples
        self.clock = clock
        self._inputs: dict[str, _Input] = {}
        self._outputs: dict[str, Limiter] = {}
        self._held: set[str] = set()
        self._kept_from: dict[str, frozenset[str]] = {}  # input -> listeners who never hear it

    # -- inputs ------------------------------------------------------------------

    def add_input(
        self, key: str, *, jitter_seconds: float | None = None, heard_by: set[str] | None = None,
    ) -> None:
        """Declare an input (pushing to an unknown key declares it with the defaults)."""
        jitter = self.jitter_seconds if jitter_seconds is None else jitter_seconds
        current = self._inputs.get(key)
        if current is None:
            self._inputs[key] = _Input(jitter, frozenset(heard_by) if heard_by is not None else None)
        else:
            current.jitter = jitter
            current.heard_by = frozenset(heard_by) if heard_by is not None else None

    def keep_from(self, key: str, listeners: set[str]) -> None:
        """Input `key` is not heard by these listeners either (none: heard as usual); it
        holds whether or not the input exists yet."""
        if listeners:
            self._kept_from[key] = frozenset(listeners)
        else:
            self._kept_from.pop(key, None)

    def push(self, key: str, samples: np.ndarray) -> None:
        if key not in self._inputs:
            self.add_input(key)
        self._inputs[key].push(samples, self.clock())

    def remove_input(self, key: str) -> None:
        """The input is gone: from the next tick nobody hears it."""
        self._inputs.pop(key, None)

    def all_input_stats(self) -> dict[str, InputStats]:
        return {key: source.stats for key, source in self._inputs.items()}

    def held_ms(self) -> dict[str, dict[str, float]]:
        """How long each guest's voice waited before going out, in ms (the studio's own
        inputs, keyed from a control character, left out)."""
        return {key: {"mean": round(stats.held_mean * 1000, 1), "max": round(stats.held_max * 1000, 1),
                      "underruns": stats.underruns}
                for key, stats in self.all_input_stats().items() if not key.startswith("\0")}

    def has_input(self, key: str) -> bool:
        return key in self._inputs

    def input_stats(self, key: str) -> InputStats | None:
        source = self._inputs.get(key)
        return source.stats if source is not None else None

    # -- listeners ---------------------------------------------------------------

    def add_output(self, key: str) -> None:
        """A listener; its mix leaves out the input of the same key."""
        self._outputs.setdefault(key, Limiter())

    def remove_output(self, key: str) -> None:
        self._outputs.pop(key, None)

    @property
    def outputs(self) -> frozenset[str]:
        return frozenset(self._outputs)

    def hold(self, key: str, on: bool) -> None:
        """On hold: `key` hears nothing and nobody hears `key`."""
        if on:
            self._held.add(key)
        else:
            self._held.discard(key)

    def held(self, key: str) -> bool:
        return key in self._held

    # -- the tick ----------------------------------------------------------------

    def tick(self) -> dict[str, np.ndarray]:
        """Advance 20 ms: every listener's mix, (960, 2) int16 each."""
        now = self.clock()
        public = np.zeros((TICK_SAMPLES, 2), dtype=np.float32)
        own: dict[str, np.ndarray] = {}
        private: dict[str, list[np.ndarray]] = {}
        for key, source in list(self._inputs.items()):
            samples = source.next_tick(self.excess_samples, now)
            if samples is None or key in self._held:
                continue  # still consumed while held, so it does not pile up
            as_float = samples.astype(np.float32)
            if source.heard_by is None:
                public += as_float
                for listener in (key, *self._kept_from.get(key, ())):
                    own[listener] = own[listener] + as_float if listener in own else as_float
            else:
                for listener in source.heard_by:
                    private.setdefault(listener, []).append(as_float)
        mixes: dict[str, np.ndarray] = {}
        for key, limiter in self._outputs.items():
            if key in self._held:
                mixes[key] = np.zeros((TICK_SAMPLES, 2), dtype=np.int16)
                continue
            mix = public - own[key] if key in own else public.copy()
            for extra in private.get(key, ()):
                mix += extra
            mixes[key] = limiter.apply(mix)
        return mixes
