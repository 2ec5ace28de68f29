"""Every benchmark that needs nothing but Python and FFmpeg, run at its smallest size: each
must still measure something real (frames written close to frames sent, CPU above zero),
so a benchmark that stops measuring fails here instead of printing zeros.

The runs go side by side in child processes (tests/support/bench_runs.py); they replay a
small 320x180 clip, built first. The benchmarks' own sizes are in tests/bench/README.md.
"""

from __future__ import annotations

import pytest

from support.bench_runs import BenchRun

CLIP = ("--size", "320x180", "--kbps", "3000")
RECORD_MODES = ("copy", "vp8", "baseline")
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def runs() -> dict[str, BenchRun]:
    # The clip check builds the replay clip the others read from the cache.
    fixture_check = BenchRun("bench_fixture_check", *CLIP)
    fixture_check.result(TIMEOUT_S)
    started = {f"recording {mode}": BenchRun("bench_recording", "--modes", mode, "--guests", "1",
                                             "--seconds", "3", *CLIP)
               for mode in RECORD_MODES}
    started.update({
        "bitrate": BenchRun("bench_bitrate", "--modes", "2000", "--seconds", "1.5", "--size", "320x180"),
        "lag": BenchRun("bench_lag", "--modes", "copy", "--seconds", "1.5", "--slow", "0.025"),
        "sync": BenchRun("bench_sync", "--minutes", "0.05"),
        "vp8 encoder": BenchRun("bench_vp8_encoder", "--cpu-used", "16", "--threads", "1",
                                "--frames", "30", *CLIP),
    })
    started["fixture check"] = BenchRun("bench_fixture_check", *CLIP)
    yield started
    for run in started.values():
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def result_of(runs: dict[str, BenchRun], name: str):
    run = runs[name]
    result = run.result(TIMEOUT_S)
    print(f"$ {run.command}\n{run.output}")
    return result


@pytest.mark.parametrize("mode", RECORD_MODES)
def test_recording_benchmark_counts_the_frames_each_receiver_wrote(runs, mode: str) -> None:
    (row,) = result_of(runs, f"recording {mode}")
    assert row["files"] == 1 and row["cpu_seconds"] > 0, row
    assert row["frames_sent"] >= 80, row  # 3 s at 30 fps
    assert row["frames_written"] > 0, row
    if mode != "baseline":  # aiortc's recorder loses frames while it starts: what it is compared for
        # Most of them: a short run on a busy machine misses some while the recording starts
        # (it waits for a keyframe), which a real run's minutes make up for.
        assert row["frames_written"] >= 0.6 * row["frames_sent"], row


def test_bitrate_benchmark_reads_both_streams_back(runs) -> None:
    rows = {row["kind"]: row for row in result_of(runs, "bitrate")}
    video, audio = rows["video"], rows["audio"]
    assert video["codec"] == "vp8" and 600 < video["kbps"] < 3000, video  # 2000 asked
    assert 15 < video["packets"] / video["seconds"] < 35, video  # 30 fps sent
    assert audio["codec"] == "opus" and 20 < audio["kbps"] < 45, audio  # 32 asked


def test_lag_benchmark_sees_the_slowed_writer_fall_behind(runs) -> None:
    (row,) = result_of(runs, "lag")
    assert row["max_lag"] > 0.2, row
    assert row["frames"]["video"]["written"] > 0 and row["frames"]["audio"]["written"] > 0, row


def test_sync_benchmark_pairs_flashes_with_beeps(runs) -> None:
    result = result_of(runs, "sync")
    offsets = [offset for _, offset in result["pairs"]]
    assert len(offsets) >= 2, result
    # The video came 300 ms late on the way in; the file is in sync all the same.
    assert all(abs(offset) < 0.1 for offset in offsets), offsets


def test_vp8_encoder_benchmark_times_decode_and_encode(runs) -> None:
    result = result_of(runs, "vp8 encoder")
    assert result["frames_decoded"] == 180 and result["decode_cpu_ms"] > 0, result
    (encoder,) = result["encoders"]
    assert encoder["frames"] == 30 and encoder["cpu_ms"] > 0 and encoder["kbps"] > 0, encoder


def test_fixture_check_measures_the_replayed_clip(runs) -> None:
    result = result_of(runs, "fixture check")
    assert result["video_frames"] == 180 and result["keyframes"] == [0, 60, 120], result
    assert abs(result["video_kbps"] - 3000) < 3000 * 0.25, result
    assert result["audio_packets"] == 100 and result["audio_kbps"] > 100, result
