"""The mix-minus: every listener hears every input except its own, 20 ms at a time.

    mixer = MixMinus()
    mixer.push("Anna", samples)          # (n, 2) int16 as it arrives, any n
    mixer.add_output("Anna")             # Anna listens; her own input is left out
    mixes = mixer.tick()                 # {"Anna": (960, 2) int16, ...} every 20 ms

Inputs arrive in bursts and at clocks that drift from ours, so each has a small jitter
allowance: an input is heard once it holds one tick plus `jitter_samples`; when it runs
dry it is silent until it has that much again (one underrun); when it holds far more
than that (a burst, or a sender clock running fast), the oldest samples are dropped so
the delay it adds stays bounded.

An input is heard by every listener but itself, or, given `heard_by`, only by those
listeners (talkback: the studio speaking to one guest). A listener on hold hears
nothing and is heard by nobody. Mixing is done in float, so a listener's mix never
carries a trace of its own voice; a mix too loud for 16 bits is turned down by the
listener's limiter (limiter.py), not clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .limiter import Limiter
from .pcm import TICK_SAMPLES
from .sample_queue import SampleQueue

DEFAULT_JITTER_SAMPLES = 480  # 10 ms beyond the tick being played
DEFAULT_EXCESS_SAMPLES = 2880  # 60 ms above the allowance before the oldest is dropped


@dataclass
class InputStats:
    underruns: int = 0  # times the input ran dry while heard
    dropped_samples: int = 0  # samples dropped to keep the delay bounded
    mixed_ticks: int = 0


@dataclass
class _Input:
    jitter: int
    heard_by: frozenset[str] | None  # None: every listener but itself
    queue: SampleQueue = field(default_factory=SampleQueue)
    primed: bool = False
    stats: InputStats = field(default_factory=InputStats)

    def next_tick(self, excess: int) -> np.ndarray | None:
        """The samples this input plays this tick, None while silent."""
        queue = self.queue
        if queue.available > TICK_SAMPLES + self.jitter + excess:
            surplus = queue.available - (TICK_SAMPLES + self.jitter)
            queue.drop(surplus)
            self.stats.dropped_samples += surplus
        if not self.primed:
            if queue.available < TICK_SAMPLES + self.jitter:
                return None
            self.primed = True
        samples = queue.take(TICK_SAMPLES)
        self.stats.mixed_ticks += 1
        if len(samples) < TICK_SAMPLES:
            self.primed = False
            self.stats.underruns += 1
            padded = np.zeros((TICK_SAMPLES, 2), dtype=np.int16)
            padded[:len(samples)] = samples
            return padded
        return samples


class MixMinus:
    def __init__(
        self,
        jitter_samples: int = DEFAULT_JITTER_SAMPLES,
        excess_samples: int = DEFAULT_EXCESS_SAMPLES,
    ) -> None:
        self.jitter_samples = jitter_samples
        self.excess_samples = excess_samples
        self._inputs: dict[str, _Input] = {}
        self._outputs: dict[str, Limiter] = {}
        self._held: set[str] = set()

    # -- inputs ------------------------------------------------------------------

    def add_input(
        self, key: str, *, jitter_samples: int | None = None, heard_by: set[str] | None = None,
    ) -> None:
        """Declare an input (pushing to an unknown key declares it with the defaults)."""
        jitter = self.jitter_samples if jitter_samples is None else jitter_samples
        current = self._inputs.get(key)
        if current is None:
            self._inputs[key] = _Input(jitter, frozenset(heard_by) if heard_by is not None else None)
        else:
            current.jitter = jitter
            current.heard_by = frozenset(heard_by) if heard_by is not None else None

    def push(self, key: str, samples: np.ndarray) -> None:
        if key not in self._inputs:
            self.add_input(key)
        self._inputs[key].queue.append(samples)

    def remove_input(self, key: str) -> None:
        """The input is gone: from the next tick nobody hears it."""
        self._inputs.pop(key, None)

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
        public = np.zeros((TICK_SAMPLES, 2), dtype=np.float32)
        own: dict[str, np.ndarray] = {}
        private: dict[str, list[np.ndarray]] = {}
        for key, source in list(self._inputs.items()):
            samples = source.next_tick(self.excess_samples)
            if samples is None or key in self._held:
                continue  # still consumed while held, so it does not pile up
            as_float = samples.astype(np.float32)
            if source.heard_by is None:
                public += as_float
                own[key] = as_float
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
