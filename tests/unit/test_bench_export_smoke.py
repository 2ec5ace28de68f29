"""The export benchmark (tests/bench/bench_export.py) at its smallest: it must still export
a session and find the stems one length with their beeps on the whole seconds, and with
--proxies still time real proxies."""

from __future__ import annotations

from support.bench_runs import BenchRun


def test_export_benchmark_times_a_real_export() -> None:
    run = BenchRun("bench_export", "--minutes", "0.1", "--guests", "3")
    proxied = BenchRun("bench_export", "--minutes", "0.1", "--guests", "2", "--size", "320x240", "--proxies")
    row = run.result(timeout=120)
    print(f"$ {run.command}\n{run.output}")
    assert row["guests"] == 3 and row["export_seconds"] > 0, row
    assert len(row["stem_lengths"]) == 1 and row["stem_lengths"][0] >= 6 * 48_000, row
    assert row["beeps_checked"] >= 4 and row["beep_off_ms"] < 10, row
    row = proxied.result(timeout=120)
    print(f"$ {proxied.command}\n{proxied.output}")
    assert row["proxies"] == ["Guest1 2026-01-01 10-00-00.mov", "Guest2 2026-01-01 10-00-00.mov"], row
    assert row["proxy_seconds"] > 0 and row["proxy_cpu_seconds_per_video_hour"] > 0, row
