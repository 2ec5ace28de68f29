"""The benchmarks that need a real OBS, at their smallest size: the frame hand-over into OBS
(tests/bench/bench_obs_latency.py) and OBS behind Janus (tests/bench/bench_sfu_obs.py). Each
must still measure something real."""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun
from support.janus_rig import janus_missing_reason
from support.obs_harness import obs_available

pytestmark = [pytest.mark.skipif(obs_available() is not None, reason=str(obs_available()))]


def test_obs_latency_benchmark_times_every_frame_handed_to_obs() -> None:
    run = BenchRun("bench_obs_latency", "--seconds", "3", "--size", "320x180")
    stats = run.result(timeout=180)
    print(f"$ {run.command}\n{run.output}")
    (guest,) = stats.values()
    assert guest["frames"] >= 60, guest  # 3 s at 30 fps, and the seconds before the wait ends
    assert 0 < guest["median_ms"] <= guest["p95_ms"] <= guest["max_ms"], guest


@pytest.mark.skipif(janus_missing_reason() is not None, reason=str(janus_missing_reason()))
def test_sfu_obs_benchmark_measures_obs_with_a_guest_through_janus() -> None:
    # A second for OBS to settle is enough for the idle figure above zero checked here.
    run = BenchRun("bench_sfu_obs", "--guests", "1", "--seconds", "3", "--settle", "1")
    (result,) = run.result(timeout=240)
    print(f"$ {run.command}\n{run.output}")
    assert result["sources"] == 1 and result["files"] == 1, result
    assert result["obs_idle_percent"] > 0 and result["obs_busy_percent"] > 0, result
    assert result["janus_percent"] > 0, result
