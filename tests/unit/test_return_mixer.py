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


def run(mixer: MixMinus, sources: dict[str, float], ticks: int) -> dict[str, np.ndarray]:
    """Push 20 ms of each source's tone per tick (as guests would) and collect every mix."""
    heard: dict[str, list[np.ndarray]] = {}
    for tick in range(ticks):
        for key, freq in sources.items():
            mixer.push(key, tone(freq, tick * TICK_SAMPLES, TICK_SAMPLES))
        for key, samples in mixer.tick().items():
            heard.setdefault(key, []).append(samples)
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
    mixer = MixMinus()
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
    mixer = MixMinus()
    for key in ("Anna", "Ben", "Cleo"):
        mixer.add_output(key)
    for _ in range(5):
        mixer.push("Anna", constant(30000))
        mixer.push("Ben", constant(30000))
        mixer.push("Cleo", constant(-1000))
        mixes = mixer.tick()
    # Anna hears Ben and Cleo exactly, nothing of her own; Anna + Ben are turned down for Cleo.
    assert set(mixes["Anna"][:, 0].tolist()) == {29000}
    assert 29000 <= mixes["Cleo"][-1, 0] <= 30000


def test_a_loud_room_is_turned_down_without_adding_tones() -> None:
    # Four voices near full scale: clipping their sum would put 2 x 700 - 1100 = 300 Hz
    # (the listener's own tone) into the mix; the limiter's steady gain puts nothing there.
    mixer = MixMinus()
    tones = {"Anna": 300.0, "Ben": 700.0, "Cleo": 1100.0, "Dan": 1500.0, "Eve": 2500.0}
    for key in tones:
        mixer.add_output(key)
    heard = {}
    for tick in range(150):
        for key, freq in tones.items():
            mixer.push(key, tone(freq, tick * TICK_SAMPLES, TICK_SAMPLES, amplitude=0.35))
        for key, samples in mixer.tick().items():
            heard.setdefault(key, []).append(samples)
    anna = np.concatenate(heard["Anna"][50:])
    assert np.abs(anna.astype(np.int32)).max() <= 30000
    levels = tone_levels(anna, list(tones.values()))
    assert min(levels[f] for f in (700.0, 1100.0, 1500.0, 2500.0)) > -20
    assert levels[300.0] < -80, levels


def test_a_listener_without_input_hears_everyone() -> None:
    mixer = MixMinus()
    mixer.add_output("Quiet")
    heard = run(mixer, {"Anna": 300.0, "Ben": 700.0}, ticks=50)
    levels = tone_levels(heard["Quiet"][TICK_SAMPLES * 5:], [300.0, 700.0])
    assert min(levels.values()) > -20


def test_jitter_allowance_delays_by_one_tick_plus_the_allowance_then_plays_steadily() -> None:
    mixer = MixMinus(jitter_samples=480)
    mixer.add_output("Ben")
    out = []
    for tick in range(10):
        mixer.push("Anna", constant(100 + tick))
        out.append(int(mixer.tick()["Ben"][0, 0]))
    # Silent until 960 + 480 samples are queued (second push), then one frame behind.
    assert out[0] == 0
    assert out[1:] == [100 + t for t in range(9)]
    assert mixer.input_stats("Anna").underruns == 0


def test_an_input_that_runs_dry_goes_silent_and_waits_for_its_allowance_again() -> None:
    mixer = MixMinus(jitter_samples=480)
    mixer.add_output("Ben")
    for _ in range(3):
        mixer.push("Anna", constant(50))
        mixer.tick()
    quiet = [mixer.tick()["Ben"] for _ in range(3)]  # Anna sends nothing for 60 ms
    stats = mixer.input_stats("Anna")
    assert stats.underruns == 1
    assert not np.any(quiet[-1])
    mixer.push("Anna", constant(60))
    assert not np.any(mixer.tick()["Ben"])  # 960 < 960 + 480: still priming
    mixer.push("Anna", constant(60))
    assert mixer.tick()["Ben"][0, 0] == 60


def test_a_burst_is_trimmed_so_the_delay_stays_bounded() -> None:
    mixer = MixMinus(jitter_samples=480, excess_samples=960)
    mixer.add_output("Ben")
    for value in range(20):  # 400 ms arrive at once
        mixer.push("Anna", constant(value))
    first = int(mixer.tick()["Ben"][0, 0])
    stats = mixer.input_stats("Anna")
    # Only one tick plus the allowance is kept: the newest audio plays, the rest is gone.
    assert stats.dropped_samples == 20 * TICK_SAMPLES - (TICK_SAMPLES + 480)
    assert first == 18


def test_hold_silences_both_ways_and_release_restores() -> None:
    mixer = MixMinus()
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
    mixer = MixMinus()
    for key in ("Anna", "Ben"):
        mixer.add_output(key)
    mixer.add_input("producer", heard_by={"Ben"})
    heard = run(mixer, {"producer": 2500.0, "Anna": 300.0}, ticks=60)
    assert tone_levels(heard["Ben"][TICK_SAMPLES * 5:], [2500.0])[2500.0] > -20
    assert tone_levels(heard["Anna"][TICK_SAMPLES * 5:], [2500.0])[2500.0] < -90


def test_a_removed_input_is_gone_from_the_next_tick() -> None:
    mixer = MixMinus()
    mixer.add_output("Ben")
    for _ in range(6):
        mixer.push("Anna", constant(1000))
    assert mixer.tick()["Ben"][0, 0] == 1000
    mixer.remove_input("Anna")
    assert not np.any(mixer.tick()["Ben"])


def test_studio_input_without_allowance_plays_in_the_tick_it_is_pushed() -> None:
    mixer = MixMinus()
    mixer.add_input("studio", jitter_samples=0)
    mixer.add_output("Ben")
    mixer.push("studio", constant(7))
    assert mixer.tick()["Ben"][0, 0] == 7


@pytest.mark.parametrize("listeners", [1, 8])
def test_mixing_cost_per_listener_is_small(listeners: int) -> None:
    import time

    mixer = MixMinus()
    for n in range(listeners):
        mixer.add_output(f"g{n}")
    block = tone(440.0, 0, TICK_SAMPLES)
    started = time.process_time()
    for _ in range(250):  # 5 s of ticks
        for n in range(listeners):
            mixer.push(f"g{n}", block)
        mixer.tick()
    per_listener_share = (time.process_time() - started) / 5.0 / listeners
    # Mixing alone must stay well under a tenth of the 2 % per guest the return may cost.
    assert per_listener_share < 0.005, per_listener_share
