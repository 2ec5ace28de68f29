"""The SFU benchmark (tests/bench/bench_sfu.py) at its smallest size: one guest through Janus,
one recorder, a few seconds. It must still measure something real: Janus's and the
recorder's CPU above zero, and the frames written close to the frames sent."""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun
from support.janus_rig import janus_missing_reason

pytestmark = [pytest.mark.skipif(janus_missing_reason() is not None, reason=str(janus_missing_reason()))]


def test_sfu_benchmark_measures_janus_and_the_recorder() -> None:
    run = BenchRun("bench_sfu", "--guests", "1", "--recorders", "1", "--seconds", "3")
    (result,) = run.result(timeout=180)
    print(f"$ {run.command}\n{run.output}")
    assert result["guests"] == 1 and result["janus_percent"] > 0, result
    (recorder,) = result["recorders"]
    assert recorder["files"] == 1 and recorder["percent"] > 0 and recorder["packets"] > 0, recorder
    # Inside the recording no frame is missing; the frames sent before the subscription
    # began (pickup) are counted apart, as the benchmark prints.
    assert result["frames_written"] >= 0.9 * result["frames_expected"] > 0, result
    assert result["frames_written"] <= result["frames_sent"], result


def test_pickup_benchmark_times_a_recorder_started_into_a_sending_room() -> None:
    run = BenchRun("bench_sfu_pickup", "--guests", "2", "--seconds", "4")
    (result,) = run.result(timeout=180)
    print(f"$ {run.command}\n{run.output}")
    assert result["begun"] == 2 and 0 < result["pickup_slowest"] < 10, result
    # A smoke run, not the figure: a loaded machine may cost a few frames here.
    assert result["frames_written"] >= 0.7 * result["frames_expected"] > 0, result
    assert result["recorder_percent"] > 0 and result["cpu_us_per_packet"] > 0, result
