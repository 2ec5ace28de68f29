"""The return feed's benchmark, run at its smallest: it must measure what it claims to."""

from __future__ import annotations

import json
import subprocess
import sys

from support.serve_process import ROOT


def test_return_benchmark_measures_cpu_delay_and_start() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "bench" / "bench_return_feed.py"), "--smallest"],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = next(json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines()
                  if line.startswith("RESULT "))
    (run,) = result["runs"]
    assert run["guests"] == 2 and run["config"] == "audio+grid"
    assert run["studio_cpu_pct"] > 0 and run["return_audio_cpu_pct_per_guest"] > 0
    assert run["return_video_cpu_pct"] > 0 and run["video_encoders_opened"] == 1
    assert run["video_sizes"] == [[640, 360]] and min(run["video_frames"]) > 0
    # Three beeps in the 3 s measured, through the studio and directly.
    assert len(run["mouth_to_ear_ms"]) >= 2 and len(run["direct_mouth_to_ear_ms"]) >= 2
    assert all(50 < ms < 1000 for ms in run["mouth_to_ear_ms"] + run["direct_mouth_to_ear_ms"])
    assert run["studio_held_ms"]["mean"] > 0
    assert all(start is not None and start < 1.0 for start in run["return_start_s"])
    assert "studio adds" in done.stdout
