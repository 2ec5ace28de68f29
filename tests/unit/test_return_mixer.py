"""The return's mix-minus: who hears whom, with what delay, and what happens at the edges
(an input that runs dry or bursts, a guest on hold, a talkback line, a guest who leaves)."""

from __future__ import annotations

import numpy as np
import pytest

from guestrec.conversation.mix_minus import MixMinus
from guestrec.conversation.pcm import TICK_SAMPLES
from guestrec.conversation.sample_queue import SampleQueue
from support.tones import tone_levels

RATE = 48_000


def tone(freq: float, first: int, count: int, amplitude: float = 0.3) -> np.ndarray:
    n = np.arange(first, first + count)
    mono = (amplitude * 32767 * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)
    return np.stack([mono, mono], axis=1)


def constant(value: int, count: int = TICK_SAMPLES) -> np.ndarray:
    return np.full((count, 2), value, dtype=np.int16)


class StepClock:
    """The mixer's clock in a test: time moves only when the test says."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 0.020) -> None:
        self.now += seconds


def mixer_on(clock: StepClock, **options) -> MixMinus:
    return MixMinus(clock=clock, **options)


def run(mixer: MixMinus, sources: dict[str, float], ticks: int) -> dict[str, np.ndarray]:
    """Push 20 ms of each source's tone per tick (as guests would), 20 ms apart, and
    collect every mix."""
    heard: dict[str, list[np.ndarray]] = {}
    for tick in range(ticks):
        for key, freq in sources.items():
            mixer.push(key, tone(freq, tick * TICK_SAMPLES, TICK_SAMPLES))
        for key, samples in mixer.tick().items():
            heard.setdefault(key, []).append(samples)
        mixer.clock.advance()
    return {key: np.concatenate(parts) for key, parts in heard.items()}


def test_sample_queue_takes_exact_counts_across_chunks() -> None:
    queue = SampleQueue()
    queue.append(np.arange(10, dtype=np.int16).repeat(2).reshape(-1, 2))
    queue.append(np.arange(10, 25, dtype=np.int16).repeat(2).reshape(-1, 2))
    assert queue.available == 25
    assert queue.take(7)[:, 0].tolist() == list(range(7))
    assert queue.take(8)[:, 0].tolist() == list(range(7, 15))
    queue.drop(5)
    assert queue.take(100)[:, 0].tolist() == list(range(20, 25))
    assert queue.available == 0 and len(queue.take(3)) == 0


def test_each_listener_hears_the_others_and_never_itself() -> None:
    mixer = mixer_on(StepClock())
    tones = {"Anna": 300.0, "Ben": 700.0, "Cleo": 1500.0}
    for key in tones:
        mixer.add_output(key)
    heard = run(mixer, tones, ticks=100)
    for key, own in tones.items():
        levels = tone_levels(heard[key][TICK_SAMPLES * 5:], list(tones.values()))
        others = [levels[f] for k, f in tones.items() if k != key]
        assert min(others) > -20, (key, levels)
        assert levels[own] < min(others) - 80, (key, levels)  # exactly nothing of itself


def test_own_voice_stays_out_even_when_the_room_clips() -> None:
    mixer = mixer_on(StepClock())
    for key in ("Anna", "Ben", "Cleo"):
        mixer.add_output(key)
    for _ in range(5):
        mixer.push("Anna", constant(30000))
        mixer.push("Ben", constant(30000))
        mixer.push("Cleo", constant(-1000))
        mixes = mixer.tick()
        mixer.clock.advance()
    # Anna hears Ben and Cleo exactly, nothing of her own; Anna + Ben are turned down for Cleo.
    assert set(mixes["Anna"][:, 0].tolist()) == {29000}
    assert 29000 <= mixes["Cleo"][-1, 0] <= 30000


def test_a_loud_room_is_turned_down_without_adding_tones() -> None:
    # Four voices near full scale: clipping their sum would put 2 x 700 - 1100 = 300 Hz
    # (the listener's own tone) into the mix; the limiter's steady gain puts nothing there.
    mixer = mixer_on(StepClock())
    tones = {"Anna": 300.0, "Ben": 700.0, "Cleo": 1100.0, "Dan": 1500.0, "Eve": 2500.0}
    for key in tones:
        mixer.add_output(key)
    heard = {}
    for tick in range(150):
        for key, freq in tones.items():
            mixer.push(key, tone(freq, tick * TICK_SAMPLES, TICK_SAMPLES, amplitude=0.35))
        for key, samples in mixer.tick().items():
            heard.setdefault(key, []).append(samples)
        mixer.clock.advance()
    anna = np.concatenate(heard["Anna"][50:])
    assert np.abs(anna.astype(np.int32)).max() <= 30000
    levels = tone_levels(anna, list(tones.values()))
    assert min(levels[f] for f in (700.0, 1100.0, 1500.0, 2500.0)) > -20
    assert levels[300.0] < -80, levels


def test_a_listener_without_input_hears_everyone() -> None:
    mixer = mixer_on(StepClock())
    mixer.add_output("Quiet")
    heard = run(mixer, {"Anna": 300.0, "Ben": 700.0}, ticks=50)
    levels = tone_levels(heard["Quiet"][TICK_SAMPLES * 5:], [300.0, 700.0])
    assert min(levels.values()) > -20


def test_samples_play_once_they_waited_the_allowance_then_steadily() -> None:
    clock = StepClock()
    mixer = mixer_on(clock, jitter_seconds=0.010)
    mixer.add_output("Ben")
    out = []
    for tick in range(10):  # each frame arrives just before a tick: it waits one tick
        mixer.push("Anna", constant(100 + tick))
        out.append(int(mixer.tick()["Ben"][0, 0]))
        clock.advance()
    assert out[0] == 0
    assert out[1:] == [100 + t for t in range(9)]
    assert mixer.input_stats("Anna").underruns == 0

    late = mixer_on(clock := StepClock(), jitter_seconds=0.010)
    late.add_output("Ben")
    out = []
    for tick in range(5):  # each frame arrives 15 ms before a tick: it plays at that tick
        late.push("Anna", constant(100 + tick))
        clock.advance(0.015)
        out.append(int(late.tick()["Ben"][0, 0]))
        clock.advance(0.005)
    assert out == [100, 101, 102, 103, 104]


def test_an_input_that_runs_dry_goes_silent_and_waits_for_its_allowance_again() -> None:
    clock = StepClock()
    mixer = mixer_on(clock, jitter_seconds=0.010)
    mixer.add_output("Ben")

    def tick() -> np.ndarray:
        mixes = mixer.tick()["Ben"]
        clock.advance()
        return mixes

    for _ in range(3):
        mixer.push("Anna", constant(50))
        tick()
    quiet = [tick() for _ in range(3)]  # Anna sends nothing for 60 ms
    stats = mixer.input_stats("Anna")
    assert stats.underruns == 1
    assert not np.any(quiet[-1])
    mixer.push("Anna", constant(60))
    assert not np.any(tick())  # it has not waited its allowance yet
    mixer.push("Anna", constant(61))
    assert tick()[0, 0] == 60


def test_a_burst_is_trimmed_so_the_delay_stays_bounded() -> None:
    clock = StepClock()
    mixer = mixer_on(clock, jitter_seconds=0.010, excess_samples=960)
    mixer.add_output("Ben")
    for value in range(20):  # 400 ms arrive at once
        mixer.push("Anna", constant(value))
    clock.advance()
    first = int(mixer.tick()["Ben"][0, 0])
    stats = mixer.input_stats("Anna")
    # Only the newest tick is kept: it plays, the rest is gone.
    assert stats.dropped_samples == 19 * TICK_SAMPLES
    assert first == 19


def test_an_input_waiting_a_tick_longer_than_needed_loses_its_oldest_tick() -> None:
    clock = StepClock()
    mixer = mixer_on(clock, jitter_seconds=0.010)
    mixer.add_output("Ben")
    mixer.push("Anna", constant(1))  # a frame that came early: one more is always queued
    played = []
    for tick in range(2, 130):
        mixer.push("Anna", constant(tick))
        played.append(int(mixer.tick()["Ben"][0, 0]))
        clock.advance()
    stats = mixer.input_stats("Anna")
    assert stats.drained == 1 and stats.underruns == 0
    # Before: the frame pushed two ticks ago plays (40 ms); after: the one of the last tick.
    assert played[10] == 2 + 10 - 2 and played[-1] == 129 - 1


def test_hold_silences_both_ways_and_release_restores() -> None:
    mixer = mixer_on(StepClock())
    tones = {"Anna": 300.0, "Ben": 700.0, "Cleo": 1500.0}
    for key in tones:
        mixer.add_output(key)
    mixer.hold("Cleo", True)
    heard = run(mixer, tones, ticks=60)
    assert not np.any(heard["Cleo"])
    levels = tone_levels(heard["Anna"][TICK_SAMPLES * 5:], [700.0, 1500.0])
    assert levels[700.0] > -20 and levels[1500.0] < -90
    mixer.hold("Cleo", False)
    heard = run(mixer, tones, ticks=60)
    assert tone_levels(heard["Anna"][TICK_SAMPLES * 5:], [1500.0])[1500.0] > -20


def test_talkback_reaches_only_its_guest() -> None:
    mixer = mixer_on(StepClock())
    for key in ("Anna", "Ben"):
        mixer.add_output(key)
    mixer.add_input("producer", heard_by={"Ben"})
    heard = run(mixer, {"producer": 2500.0, "Anna": 300.0}, ticks=60)
    assert tone_levels(heard["Ben"][TICK_SAMPLES * 5:], [2500.0])[2500.0] > -20
    assert tone_levels(heard["Anna"][TICK_SAMPLES * 5:], [2500.0])[2500.0] < -90


def test_a_removed_input_is_gone_from_the_next_tick() -> None:
    mixer = mixer_on(StepClock())
    mixer.add_output("Ben")
    for _ in range(6):
        mixer.push("Anna", constant(1000))
    mixer.clock.advance()
    assert mixer.tick()["Ben"][0, 0] == 1000
    mixer.remove_input("Anna")
    assert not np.any(mixer.tick()["Ben"])


def test_studio_input_without_allowance_plays_in_the_tick_it_is_pushed() -> None:
    mixer = mixer_on(StepClock())
    mixer.add_input("studio", jitter_seconds=0.0)
    mixer.add_output("Ben")
    mixer.push("studio", constant(7))
    assert mixer.tick()["Ben"][0, 0] == 7


@pytest.mark.parametrize("listeners", [1, 8])
def test_mixing_cost_per_listener_is_small(listeners: int) -> None:
    import time

    mixer = mixer_on(StepClock())
    for n in range(listeners):
        mixer.add_output(f"g{n}")
    block = tone(440.0, 0, TICK_SAMPLES)
    started = time.process_time()
    for _ in range(250):  # 5 s of ticks
        for n in range(listeners):
            mixer.push(f"g{n}", block)
        mixer.tick()
        mixer.clock.advance()
    per_listener_share = (time.process_time() - started) / 5.0 / listeners
    # Mixing alone must stay well under a tenth of the 2 % per guest the return may cost.
    assert per_listener_share < 0.005, per_listener_share


def test_a_screen_share_is_kept_from_the_guest_who_shares_it() -> None:
    mixer = mixer_on(StepClock())
    for key in ("Anna", "Ben"):
        mixer.add_output(key)
    mixer.keep_from("Anna (screen)", {"Anna"})
    tones = {"Anna": 300.0, "Ben": 700.0, "Anna (screen)": 1500.0}
    heard = run(mixer, tones, 40)
    anna = tone_levels(heard["Anna"][TICK_SAMPLES * 5:], list(tones.values()))
    ben = tone_levels(heard["Ben"][TICK_SAMPLES * 5:], list(tones.values()))
    assert anna[700.0] > -20 and anna[1500.0] < anna[700.0] - 80, anna  # nothing of her screen
    assert ben[300.0] > -20 and ben[1500.0] > -20, ben  # Ben hears Anna and her screen
    # Kept from nobody any more: Anna hears that input again.
    mixer.keep_from("Anna (screen)", set())
    again = run(mixer, tones, 20)
    assert tone_levels(again["Anna"][TICK_SAMPLES * 5:], [1500.0])[1500.0] > -20
