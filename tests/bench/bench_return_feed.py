"""What the return feed costs the studio, and how much delay it adds between guests.

The studio runs here (the engine, as `serve` runs it, recording in copy mode); the guests
run in a process of their own (tests/support/return_swarm.py), so the CPU measured is the
studio's alone. For each guest count, three studios are measured:

    off      no return (the guests' offers ask for one, nothing comes back)
    audio    return audio: each guest's mix-minus, encoded to Opus for that guest
    audio+grid  and the grid picture, 640x360 VP8, encoded once for all

Printed per run: the studio's CPU (% of one core; whole process), the return's own CPU
per guest (mix + Opus encode, timed inside the mixing tick), the grid encoder's CPU (one
encode whatever the guest count), mouth-to-ear delay from the beeping guest to a
listening one and, measured at the same time in the guests' process, between two peers
connected directly (the studio's share is the difference), how long the beeping guest's
voice waited inside the studio, and how soon the return started after each guest
connected.

    .venv/bin/python tests/bench/bench_return_feed.py                       # 1, 4, 8 guests
    .venv/bin/python tests/bench/bench_return_feed.py --guests 2 --seconds 5 --configs audio
    .venv/bin/python tests/bench/bench_return_feed.py --smallest            # one short run

The last line is `RESULT {json}` with every figure, for scripts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "lib"))

from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port

SWARM = Path(__file__).resolve().parent.parent / "support" / "return_swarm.py"
CONFIGS = {"off": (False, "off"), "audio": (True, "off"), "audio+grid": (True, "grid")}


def swarm(args: list[str], on_line=None, timeout: float = 180.0) -> dict:
    """Run the guests' process; `on_line` sees each MEASURE line as it comes."""
    proc = subprocess.Popen([sys.executable, str(SWARM), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    result = None
    for line in proc.stdout:
        if line.startswith("MEASURE") and on_line is not None:
            on_line(line.strip())
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        if time.monotonic() > deadline:
            proc.kill()
            break
    proc.wait(timeout=30)
    if result is None:
        raise RuntimeError(f"the guests' process gave no result (exit {proc.returncode})")
    return result


def measure(guests: int, config: str, seconds: float, video_from_guests: bool) -> dict:
    return_audio, return_video = CONFIGS[config]
    with tempfile.TemporaryDirectory() as out:
        engine = Engine(EngineSettings(
            out_dir=Path(out), port=free_port(), record="2000", codec="copy", ice_servers="[]",
            return_audio=return_audio, return_video=return_video))
        engine.start()
        marks: dict[str, tuple[float, float, dict | None]] = {}

        def on_line(line: str) -> None:
            marks[line] = (time.monotonic(), time.process_time(), engine.return_status())

        try:
            guests_result = swarm(
                [engine.base_url, engine.token, "--guests", str(guests), "--seconds", str(seconds),
                 *(["--video"] if video_from_guests else [])], on_line)
        finally:
            engine.stop(timeout=20)
    (wall0, cpu0, status0), (wall1, cpu1, status1) = marks["MEASURE START"], marks["MEASURE END"]
    span = wall1 - wall0
    row = {"guests": guests, "config": config, "seconds": round(span, 1),
           "studio_cpu_pct": round((cpu1 - cpu0) / span * 100, 1), **guests_result}
    if status0 and status1:
        listeners = max(1, len(status1["listeners"]))
        audio_cpu = status1["audio_cpu_seconds"] - status0["audio_cpu_seconds"]
        row["return_audio_cpu_pct_per_guest"] = round(audio_cpu / span * 100 / listeners, 2)
        row["return_video_cpu_pct"] = round((status1["video_cpu_seconds"] - status0["video_cpu_seconds"])
                                            / span * 100, 1)
        row["video_encoders_opened"] = status1["video_encoders_opened"]
        row["video_frames_encoded"] = status1["video_frames_encoded"] - status0["video_frames_encoded"]
        row["audio_ticks_skipped"] = status1["audio_ticks_skipped"]
        row["audio_packets_dropped"] = status1["audio_packets_dropped"]
        row["studio_held_ms"] = status1["audio_held_ms"].get("guest0")
    return row


def describe(row: dict) -> str:
    delays = row.get("mouth_to_ear_ms") or []
    median = statistics.median(delays) if delays else None
    direct = row.get("direct_mouth_to_ear_ms") or []
    direct_ms = statistics.median(direct) if direct else None
    text = f"{row['guests']:2d} guests {row['config']:10s} studio CPU {row['studio_cpu_pct']:5.1f} %"
    if "return_audio_cpu_pct_per_guest" in row and row["config"] != "off":
        text += f"  mix+Opus {row['return_audio_cpu_pct_per_guest']:.2f} %/guest"
    if row["config"] == "audio+grid":
        text += (f"  grid encode {row['return_video_cpu_pct']:.1f} % "
                 f"({row['video_encoders_opened']} encoder, {row['video_frames_encoded']} frames)")
    if median is not None and row["config"] != "off":
        added = (f", direct {direct_ms:.0f} ms: studio adds {median - direct_ms:.0f} ms"
                 if direct_ms is not None else "")
        held = row.get("studio_held_ms") or {}
        text += f"  mouth-to-ear {median:.0f} ms (max {max(delays):.0f}{added}; held {held.get('mean')} ms)"
    starts = [s for s in row.get("return_start_s", []) if s is not None]
    if starts:
        text += f"  return starts <= {max(starts):.2f} s after connecting"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="1,4,8", help="guest counts, comma separated")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"of {', '.join(CONFIGS)}")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--no-guest-video", dest="guest_video", action="store_false",
                        help="guests send audio only (by default they send 320x180 at 15 fps too)")
    parser.add_argument("--smallest", action="store_true",
                        help="one short run: 2 guests, audio+grid, 3 s (a smoke test)")
    args = parser.parse_args()
    if args.smallest:
        args.guests, args.configs, args.seconds = "2", "audio+grid", 3.0
    counts = [int(n) for n in args.guests.split(",")]
    configs = args.configs.split(",")
    rows = []
    for guests in counts:
        for config in configs:
            row = measure(guests, config, args.seconds, args.guest_video)
            rows.append(row)
            print(describe(row), flush=True)
    print("RESULT " + json.dumps({"runs": rows}), flush=True)


if __name__ == "__main__":
    main()
