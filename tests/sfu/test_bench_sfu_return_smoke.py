"""The benchmark of the return through Janus (tests/bench/bench_sfu_return.py) at its
smallest: two guests hearing each other through the AudioBridge and watching the grid for
a few seconds. It must still measure something real: the studio's and Janus's CPU above
zero, beeps heard later than over a direct link, sound soon after the line opened, each
guest's own voice far below the others, the grid's pictures."""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun
from support.janus_rig import janus_missing_reason

pytestmark = [pytest.mark.skipif(janus_missing_reason() is not None, reason=str(janus_missing_reason()))]


def test_return_through_janus_benchmark_measures_cpu_delay_start_and_mix_minus() -> None:
    run = BenchRun("bench_sfu_return", "--smallest")
    result = run.result(timeout=90)
    print(f"$ {run.command}\n{run.output}")
    assert run.output.rstrip().splitlines()[-1].startswith("RESULT {"), run.output[-2000:]
    (row,) = result["runs"]
    assert row["guests"] == 2 and row["config"] == "audio+grid", row
    assert row["studio_cpu_pct"] > 0 and row["janus_cpu_pct"] > 0, row
    # A beep a second for 4 s: most heard both ways, later through Janus than directly.
    assert len(row["mouth_to_ear_ms"]) >= 2 and len(row["direct_mouth_to_ear_ms"]) >= 2, row
    assert 0 < row["direct_median_ms"] < row["mouth_to_ear_median_ms"] < 1000, row
    assert all(s is not None and 0 < s < 5 for s in row["sound_start_s"]), row
    # Janus's mix-minus: everyone hears the others, nobody itself (its pitch no louder than
    # a pitch nobody sends).
    for heard in row["own_voice"]:
        assert heard["others_min_db"] > -45 and heard["below_db"] > 20, row["own_voice"]
        assert heard["own_db"] < heard["floor_db"] + 6, row["own_voice"]
    assert min(row["grid_frames"]) > 0 and row["grid_sizes"] == [[640, 360]], row
