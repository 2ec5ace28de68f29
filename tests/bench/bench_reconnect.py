"""Connect and reconnect times of a guest whose UDP drops, in the network namespace rig
(support/drop_scenario.py; needs root). Each run: a guest joins, its UDP is dropped for
--outage seconds, it rejoins by itself with its resume secret. Prints, per run, how long
joining took, when the studio noticed a dead guest by itself, when the guest noticed the
drop, how soon after the network came back it was back, and whether the take's parts hold
every frame sent outside the outage.

    .venv/bin/python tests/bench/bench_reconnect.py --runs 5 --outage 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent / "lib")]

from support.drop_scenario import run_drop_scenario  # noqa: E402
from support.link_rig import LinkRig  # noqa: E402

COLUMNS = ("connect_s", "studio_noticed_s", "guest_noticed_s", "back_after_unblock_s")


def main(argv: list[str] | None = None) -> list[dict]:
    """A row per run: the measured seconds, the guest's join attempts, frames sent outside the
    outage and how many of them the take's parts hold."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage", type=float, default=10.0)
    args = parser.parse_args(argv)
    why = LinkRig.available()
    if why:
        sys.exit(f"cannot build the rig: {why}")
    rows = []
    print(f"{'run':>3} " + " ".join(f"{c:>21}" for c in COLUMNS) + "  attempts  frames outside: in parts")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as out:
            result = run_drop_scenario(Path(out), outage_s=args.outage)
            outside, _ = result.frames_sent(0.3)
            found = result.frames_found()
        rows.append({**result.measured, "attempts": result.guest.attempts,
                     "frames_outside": len(outside), "found_outside": len(outside & found)})
        print(f"{run:>3} " + " ".join(f"{result.measured[c]:>21.2f}" for c in COLUMNS)
              + f"  {result.guest.attempts:>8}  {len(outside):>14}: {len(outside & found)}")
        for frame in sorted(outside - found):
            print(f"    missing frame {result.when(frame)}")
    print("med " + " ".join(f"{statistics.median(r[c] for r in rows):>21.2f}" for c in COLUMNS))
    return rows


if __name__ == "__main__":
    main()
