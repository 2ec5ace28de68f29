"""Pickup benchmark: an `sfu-record` that starts while a full room is already sending.

N guests publish a pre-encoded 720p30 VP8 clip and Opus (replay.py) into Debian's Janus;
once all of them send, one recorder process starts. Janus and the senders run on one
core and the recorder on the other (`taskset`-like CPU affinity), so the figures are the
recorder's own. Needs root (network namespace) and two cores.

    .venv/bin/python tests/bench/bench_sfu_pickup.py --guests 24 --seconds 20
    .venv/bin/python tests/bench/bench_sfu_pickup.py --guests 8,16,24 --seconds 20

Prints, per run: when each guest's recording began, counted from the recorder's start
(its first media: the sidecar's `media_start_utc`), the slowest and the median, the
recorder's log of where each subscription spent its time, and whether the files hold at
least 99% of the frames sent from each recording's first frame to its last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "lib")]

from bench_recording import REAL_TIME_SHARE, process_cpu_seconds  # noqa: E402
from bench_sfu import FPS, ReplayGuest, media_files, spread_names, video_span  # noqa: E402
from replay import opus_clip, video_clip  # noqa: E402

from support.janus_rig import JanusRig, janus_missing_reason  # noqa: E402
from support.sfu_recorder_process import RecorderProcess  # noqa: E402

WARMUP_S = 3.0
PICKUP_TARGET_S = 3.0
SENDERS_CPU, RECORDER_CPU = 0, 1


def pin(pid: int, cpu: int | set[int]) -> None:
    """Keep one thread (0: the calling one) on a core, if there are two; threads and
    processes it makes from now on stay there too."""
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu} if isinstance(cpu, int) else cpu)


def pin_process(pid: int, cpu: int) -> None:
    """Every thread of a running process on one core."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pin(int(task.name), cpu)
        except ProcessLookupError:
            pass  # a thread that ended meanwhile


def all_cpus() -> set[int]:
    return set(range(os.cpu_count() or 1))


def start_recorder(rig: JanusRig, out: Path) -> RecorderProcess:
    """The recorder, made from this process while it stands on the recorder's core (a child
    keeps its parent's affinity), so none of its threads ever runs on the senders' core."""
    pin(0, RECORDER_CPU)
    try:
        return RecorderProcess(rig, out)
    finally:
        pin(0, SENDERS_CPU)


async def publish_all(rig: JanusRig, count: int, kbps: int) -> list[ReplayGuest]:
    guests = [ReplayGuest(rig, name, kbps) for name in spread_names(count, 1)]
    for guest in guests:
        await guest.publish()
    return guests


async def record_picked_up_room(rig: JanusRig, guests: int, kbps: int, seconds: float,
                                out: Path) -> tuple[float, float, tuple[float, float], int, str]:
    """Publish, start the recorder, record; returns (start time, seconds until ready,
    (recorder CPU seconds, Janus's and the senders') while recording, frames sent, the
    recorder's log)."""
    publishers = await publish_all(rig, guests, kbps)
    recorder: RecorderProcess | None = None
    try:
        await asyncio.sleep(WARMUP_S)
        started = time.time()
        recorder = await asyncio.to_thread(start_recorder, rig, out)
        ready = time.time() - started
        cpu_before = process_cpu_seconds(recorder.proc.pid)
        others_before = process_cpu_seconds(rig.pid()) + process_cpu_seconds(os.getpid())
        if PROFILE_TO is not None:
            await profile(recorder.proc.pid, seconds, PROFILE_TO)
        else:
            await asyncio.sleep(seconds)
        cpu = process_cpu_seconds(recorder.proc.pid) - cpu_before
        others = process_cpu_seconds(rig.pid()) + process_cpu_seconds(os.getpid()) - others_before
        log = await asyncio.to_thread(recorder.stop)
        recorder = None
        return started, ready, (cpu, others), sum(g.video.sent for g in publishers), log
    finally:
        if recorder is not None:
            recorder.kill()
        await asyncio.gather(*(g.hang_up() for g in publishers), return_exceptions=True)


PROFILE_TO: Path | None = None  # --profile: py-spy's folded stacks of the recorder go here


async def profile(pid: int, seconds: float, out: Path) -> None:
    """Sample the recorder with py-spy (not a dependency: `pip install py-spy`) for the
    whole recording, on the senders' core (the child inherits this thread's core)."""
    spy = await asyncio.create_subprocess_exec(
        shutil.which("py-spy") or "py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds)),
        "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await spy.wait()
    print(f"  profile (py-spy folded stacks) in {out}")


def run_one(guests: int, kbps: int, seconds: float, keep: bool) -> dict:
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-pickup-"))
    out = work / "rec"
    try:
        with JanusRig(work) as rig:
            pin_process(rig.pid(), SENDERS_CPU)
            pin(0, SENDERS_CPU)
            try:
                started, ready, cpu, sent, log = asyncio.run(
                    record_picked_up_room(rig, guests, kbps, seconds, out))
            finally:
                pin(0, all_cpus())
        (work / "recorder.log").write_text(log)
        return report(guests, kbps, seconds, started, ready, cpu, sent, out, load, log)
    finally:
        if keep:
            print(f"  recordings and the recorder's log kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def first_media_times(out: Path) -> dict[str, float]:
    """Each recording's first media (seconds since the epoch), by sidecar name."""
    times: dict[str, float] = {}
    for side in out.rglob("*.json"):
        try:
            stamp = json.loads(side.read_text()).get("media_start_utc")
        except (ValueError, OSError):
            continue
        if stamp:
            times[side.stem] = datetime.fromisoformat(stamp).timestamp()
    return times


STEP = re.compile(r"^(?P<steps>.*subscribed to .*)$")


def report(guests: int, kbps: int, seconds: float, started: float, ready: float,
           cpus: tuple[float, float], sent: int, out: Path, load: float, log: str) -> dict:
    cpu, others = cpus
    pickups = sorted(t - started for t in first_media_times(out).values())
    spans = [video_span(p) for p in media_files(out)]
    written = sum(frames for frames, _ in spans)
    expected = sum(round(span * FPS) + 1 for frames, span in spans if frames)
    print(f"\n{guests} guests already sending 720p30 VP8 ~{kbps} kbps + Opus; one recorder started "
          f"{WARMUP_S:.0f} s after the last published; {seconds:.0f} s recorded; load before {load:.1f}")
    print(f"  recorder ready (room joined) {ready:.2f} s after its start; "
          f"CPU {100 * cpu / seconds:.0f}% of its core; Janus and the senders "
          f"{100 * others / seconds:.0f}% of theirs (past about 85% they lose packets before the recorder)")
    met = len(pickups) == guests and bool(pickups) and pickups[-1] <= PICKUP_TARGET_S
    if pickups:
        print(f"  recordings begun: {len(pickups)} of {guests}; first media after the recorder's start: "
              f"median {statistics.median(pickups):.2f} s, slowest {pickups[-1]:.2f} s "
              f"(target {PICKUP_TARGET_S:.0f} s: {'met' if met else 'NOT met'})")
    else:
        print("  no recording began")
    steps = [m.group("steps") for m in map(STEP.search, log.splitlines()) if m]
    for line in steps[:3] + (["..."] if len(steps) > 4 else []) + steps[-1:] * (len(steps) > 3):
        print(f"    {line}")
    kept = bool(expected) and written >= REAL_TIME_SHARE * expected
    print(f"  frames sent in all: {sent}; written: {written}; missing inside the recordings: "
          f"{expected - written} of {expected}; real time after pickup: {'yes' if kept else 'NO'}")
    packets, lost = packet_counts(out)
    per_packet = 1e6 * cpu / packets if packets else float("nan")
    print(f"  packets received {packets}, lost {lost}; recorder CPU per packet {per_packet:.0f} us "
          "(steadier than the rest when other work shares the machine)", flush=True)
    return {"guests": guests, "begun": len(pickups), "pickup_slowest": pickups[-1] if pickups else None,
            "pickup_median": statistics.median(pickups) if pickups else None, "frames_written": written,
            "frames_expected": expected, "real_time": kept, "recorder_percent": 100 * cpu / seconds,
            "cpu_us_per_packet": per_packet}


def packet_counts(out: Path) -> tuple[int, int]:
    """RTP packets received and lost, in all, from the sidecars."""
    received = lost = 0
    for side in out.rglob("*.json"):
        network = json.loads(side.read_text()).get("network", {})
        for kind in ("audio", "video"):
            received += int(network.get(kind, {}).get("packets") or 0)
            lost += int(network.get(kind, {}).get("packets_lost") or 0)
    return received, lost


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="24", help="comma-separated guest counts, one run each")
    parser.add_argument("--kbps", type=int, default=2500, help="video bitrate of the replayed clip")
    parser.add_argument("--seconds", type=float, default=20, help="how long the recorder records")
    parser.add_argument("--keep", action="store_true", help="keep the recordings and the log")
    parser.add_argument("--profile", type=Path, help="write py-spy's folded stacks of the recorder here")
    args = parser.parse_args(argv)
    global PROFILE_TO
    PROFILE_TO = args.profile
    reason = janus_missing_reason()
    if reason:
        sys.exit(reason)
    video_clip(kbps=args.kbps), opus_clip()  # build the cache before timing anything
    return [run_one(count, args.kbps, args.seconds, args.keep) for count in map(int, args.guests.split(","))]


if __name__ == "__main__":
    main()
