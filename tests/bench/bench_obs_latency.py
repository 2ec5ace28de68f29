"""Measure how long a guest's decoded video frame takes to reach OBS.

The delay measured: from the frame leaving the guest's track (decoded, handed to the OBS
bridge's GuestSink.on_video) until obs_source_output_video2 has returned, i.e. OBS holds
its own copy. It includes the conversion to I420 when one is needed. The bridge logs these
numbers when a guest leaves; this script starts a real OBS under Xvfb, lets aiortc guests
send for a while, and prints the median and 95th percentile.

    .venv/bin/python tests/bench/bench_obs_latency.py [--seconds 20] [--size 1280x720] [--fps 30]
                                                      [--guests 1] [--record]

Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS.parent / "lib"))

from support.obs_harness import RED_YUV, BackgroundGuest, ObsHarness, wait_until  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, dict]:
    """Per guest: frames handed over, median, p95 and max milliseconds."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--guests", type=int, default=1)
    p.add_argument("--record", action="store_true", help="record the guests meanwhile (more load)")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="guestrec-bench-") as tmp:
        harness = ObsHarness(Path(tmp), {"auto_record": args.record}, canvas=(1280, 720), fps=30)
        with harness:
            harness.wait_for_server()
            names = [f"Bench{i + 1}" for i in range(args.guests)]
            guests = [BackgroundGuest(harness.whip_url(n), harness.token, RED_YUV,
                                      size=(width, height), fps=args.fps).join() for n in names]
            try:
                for name in names:
                    wait_until(lambda name=name: name in harness.inputs_of_our_kind() or None, 20, 0.5,
                               f"{name}'s source")
                time.sleep(args.seconds)
            finally:
                for guest in guests:
                    guest.leave()
            stats = wait_until(lambda: (lambda s: s if all(n in s for n in names) else None)(
                harness.handover_stats()), 20, 0.5, "the bridge's stats in the OBS log")

    print(f"OBS frame hand-over, {args.guests} guest(s), {width}x{height} at {args.fps} fps, "
          f"{args.seconds:.0f} s{' while recording' if args.record else ''}:")
    for name in names:
        s = stats[name]
        print(f"  {name}: {s['frames']} frames, median {s['median_ms']:.3f} ms, "
              f"p95 {s['p95_ms']:.3f} ms, max {s['max_ms']:.3f} ms")
    if len(names) > 1:
        print(f"  median of medians {statistics.median(stats[n]['median_ms'] for n in names):.3f} ms, "
              f"worst p95 {max(stats[n]['p95_ms'] for n in names):.3f} ms")
    return {name: stats[name] for name in names}


if __name__ == "__main__":
    main()
