"""A/V offset over a long recording: a guest whose video flashes white and whose audio
beeps at the same instants once a second, its video path delayed by 300 ms on the way in
(so arrival times would be 300 ms off). Recorded for --minutes (default 10); prints the
measured offset (audio minus video) over the first and the last minute of the file.

    .venv/bin/python tests/bench/bench_sync.py --minutes 10 [--codec vp8|copy]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent / "lib")]

from support.flash_sync import flash_beep_pairs, record_flash_beep  # noqa: E402

VIDEO_DELAY = 0.3


def describe(label: str, offsets: list[float]) -> str:
    ms = [o * 1000 for o in offsets]
    return (f"{label:>14}: {len(ms):4d} flashes, mean {statistics.fmean(ms):+6.1f} ms, "
            f"min {min(ms):+6.1f}, max {max(ms):+6.1f}")


def main(argv: list[str] | None = None) -> dict:
    """Returns the file's flash/beep pairs [(video time, audio minus video)] and its timeline."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--codec", default="vp8")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        path, summary = asyncio.run(record_flash_beep(Path(out), args.codec, seconds, VIDEO_DELAY))
        print(f"recorded {time.monotonic() - started:.0f} s ({args.codec}) to {path.name}")
        pairs = flash_beep_pairs(path)
    timeline = summary.get("av_sync", {}).get("timeline", {}).get("mode")
    result = {"pairs": pairs, "timeline": timeline}
    if not pairs:
        print("no flash/beep pairs found")
        return result
    first, last = pairs[0][0], pairs[-1][0]
    offsets = [o for _, o in pairs]
    early = [o for v, o in pairs if v - first < 60]
    late = [o for v, o in pairs if last - v < 60]
    print(describe("first minute", early))
    print(describe("last minute", late))
    print(describe("whole file", offsets))
    print(f"paired flashes {len(pairs)}; sidecar timeline: {timeline}")
    return result


if __name__ == "__main__":
    main()
