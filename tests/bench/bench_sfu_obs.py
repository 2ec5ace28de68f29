"""OBS behind Janus: what showing and recording each guest costs OBS when guests come
through the SFU (real OBS under Xvfb with the script, Janus in a network namespace).

N guests publish a pre-encoded 720p30 clip straight into the room (bench_sfu.ReplayGuest);
OBS subscribes to each, decodes it for its source and records it (copy by default). OBS's
CPU is read from /proc over an idle window first, then over the same window with guests.

    .venv/bin/python tests/bench/bench_sfu_obs.py --guests 2,4 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "lib")]

from bench_recording import process_cpu_seconds  # noqa: E402
from bench_sfu import run_guests  # noqa: E402
from replay import opus_clip, video_clip  # noqa: E402

from support.janus_rig import JanusRig, janus_missing_reason  # noqa: E402
from support.obs_harness import ObsHarness, obs_available  # noqa: E402


def run_one(guests: int, kbps: int, seconds: float, codec: str, settle: float = 3.0) -> dict:
    """OBS's and Janus's CPU (% of one core) idle and with the guests; sources and files made."""
    work = Path(tempfile.mkdtemp(prefix="bench-sfu-obs-"))
    try:
        with JanusRig(work / "janus") as rig:
            settings = {"sfu": rig.sfu, "sfu_room": rig.room, "sfu_secret": rig.api_secret,
                        "codec": codec, "video_kbps": 6000}
            with ObsHarness(work / "obs", settings, canvas=(1280, 720), fps=30) as obs:
                obs.wait_for_server()
                pid = obs.proc.pid
                time.sleep(settle)  # OBS's own start-up work done before its idle CPU is read
                before = process_cpu_seconds(pid)
                time.sleep(seconds)
                idle = 100 * (process_cpu_seconds(pid) - before) / seconds
                cpu, _sent, elapsed = asyncio.run(run_guests(
                    rig, guests, kbps, seconds, {"janus": rig.pid(), "senders": os.getpid(), "obs": pid}))
                shown = len(obs.inputs_of_our_kind())
            busy = 100 * cpu["obs"] / elapsed
            files = [p for p in (work / "obs" / "guests").rglob("*") if p.suffix in (".webm", ".mkv")]
            print(f"\n{guests} guests at 720p30 VP8 ~{kbps} kbps through Janus into OBS ({codec} recording), "
                  f"{elapsed:.0f} s")
            print(f"  OBS: idle {idle:.1f}% of a core, with guests {busy:.1f}% = "
                  f"{(busy - idle) / guests:.1f}% per guest shown and recorded ({shown} sources, "
                  f"{len(files)} files)")
            print(f"  Janus: {100 * cpu['janus'] / elapsed / guests:.2f}% of a core per guest", flush=True)
            return {"guests": guests, "seconds": elapsed, "obs_idle_percent": idle, "obs_busy_percent": busy,
                    "janus_percent": 100 * cpu["janus"] / elapsed, "sources": shown, "files": len(files)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="2,4")
    parser.add_argument("--kbps", type=int, default=2500)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--codec", default="copy")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds after OBS started before its idle CPU is read (default 3)")
    args = parser.parse_args(argv)
    reason = janus_missing_reason() or obs_available()
    if reason:
        sys.exit(reason)
    video_clip(kbps=args.kbps), opus_clip()
    return [run_one(guests, args.kbps, args.seconds, args.codec, args.settle)
            for guests in (int(g) for g in args.guests.split(","))]


if __name__ == "__main__":
    main()
