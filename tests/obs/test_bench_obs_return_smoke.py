"""The benchmark of the return inside OBS (tests/bench/bench_obs_return.py) at its smallest
size: it must still read OBS's CPU in every window and see both taps at work."""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun
from support.obs_harness import obs_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(obs_available() is not None, reason=str(obs_available()))]


def test_obs_return_benchmark_measures_both_taps() -> None:
    # Past the controller's 0.6 s wait before applying a setting (obs_bridge/controller.py): each
    # window then runs with its setting, enough for the figures above zero checked here.
    run = BenchRun("bench_obs_return", "--size", "640x360", "--fps", "15", "--seconds", "2", "--rounds", "1",
                   "--settle", "1")
    result = run.result(timeout=180)
    print(f"$ {run.command}\n{run.output}")
    windows = [cpu for cpus in result["windows"].values() for cpu in cpus]
    assert len(windows) == 3 and all(cpu > 0 for cpu in windows), result
    assert "0 failed" in result["taps"]["OBS track"], result["taps"]
    assert "0 failed" in result["taps"]["OBS program"], result["taps"]
    copied = int(result["taps"]["OBS program"].split(" copied")[0].rsplit(", ", 1)[1])
    assert copied > 10, result["taps"]  # 2 s of program at up to 15 copies a second
