"""The export benchmark (tests/bench/bench_export.py) at its smallest: it must still export
a session and find the stems one length with their beeps on the whole seconds."""

from __future__ import annotations

from support.bench_runs import BenchRun


def test_export_benchmark_times_a_real_export() -> None:
    run = BenchRun("bench_export", "--minutes", "0.1", "--guests", "3")
    row = run.result(timeout=120)
    print(f"$ {run.command}\n{run.output}")
    assert row["guests"] == 3 and row["export_seconds"] > 0, row
    assert len(row["stem_lengths"]) == 1 and row["stem_lengths"][0] >= 6 * 48_000, row
    assert row["beeps_checked"] >= 4 and row["beep_off_ms"] < 10, row
