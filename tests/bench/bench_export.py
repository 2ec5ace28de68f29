"""Export of a long session: time to write every timeline and the stems (no proxies).

The session is made quickly from pre-encoded packets (tests/support/synthetic_session.py):
--guests guests (VP8 + Opus, the last one audio only), each joining a little later than the
one before, for --minutes minutes. Prints the time the export took and how much faster
than real time that is; checks the stems are one length with the beeps on whole seconds (over
the first ten seconds of each).

    .venv/bin/python tests/bench/bench_export.py [--minutes 60] [--guests 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent / "lib")]

from guestrec.export import export_session  # noqa: E402
from support.beeps import tone_onsets  # noqa: E402
from support.synthetic_session import GuestSpec, make_session  # noqa: E402


def _head(w: wave.Wave_read, seconds: float) -> np.ndarray:
    """The first seconds of a 24-bit WAV, mixed to mono floats."""
    raw = np.frombuffer(w.readframes(round(seconds * w.getframerate())), np.uint8).reshape(-1, 3)
    ints = raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16
    ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
    return (ints.reshape(-1, w.getnchannels()).mean(axis=1) / 2**23).astype(np.float32)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--guests", type=int, default=4)
    args = parser.parse_args(argv)
    seconds = max(2.0, round(args.minutes * 60))
    guests = [GuestSpec(f"Guest{i + 1}", 0.5 + 1.7 * i, seconds - 1.7 * i, video=i < args.guests - 1)
              for i in range(args.guests)]
    with tempfile.TemporaryDirectory() as parent:
        began = time.perf_counter()
        folder = make_session(Path(parent), guests)
        made = time.perf_counter() - began
        began = time.perf_counter()
        result = export_session(folder)
        took = time.perf_counter() - began
        lengths = set()
        onsets: list[float] = []
        for path in sorted((result.folder / "stems").glob("*.wav")):
            with wave.open(str(path)) as w:
                lengths.add(w.getnframes())
                onsets += tone_onsets(_head(w, 10.0), w.getframerate(), 1000.0)
    off = max((min(t % 1.0, 1.0 - t % 1.0) for t in onsets), default=None)
    row = {"minutes": seconds / 60, "guests": args.guests, "made_seconds": round(made, 1),
           "export_seconds": round(took, 2), "realtime_factor": round(seconds / took, 1),
           "stem_lengths": sorted(lengths), "beeps_checked": len(onsets),
           "beep_off_ms": None if off is None else round(off * 1000, 1)}
    print(f"{args.guests} guests x {seconds / 60:.1f} min (made in {made:.1f} s): export "
          f"{took:.1f} s, {seconds / took:.0f}x real time; stems one length: {len(lengths) == 1}; "
          f"beeps within {row['beep_off_ms']} ms of the whole seconds")
    return row


if __name__ == "__main__":
    main()
