"""Export of a long session: time to write every timeline and the stems, and with
--proxies the time the proxies (H.264 + PCM in MOV) add.

The session is made quickly from pre-encoded packets (tests/support/synthetic_session.py):
--guests guests (VP8 + Opus, the last one audio only, pictures of --size), each joining a
little later than the one before, for --minutes minutes. Prints the time the export took
and how much faster than real time that is; checks the stems are one length with the beeps
on whole seconds (over the first ten seconds of each). With --proxies the export runs again
with proxies, and the difference is given per hour of video (every video guest's length
added up), extrapolated from the minutes measured.

    .venv/bin/python tests/bench/bench_export.py [--minutes 60] [--guests 4]
    .venv/bin/python tests/bench/bench_export.py --minutes 3 --guests 3 --size 1280x720 --proxies
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
    parser.add_argument("--size", default="160x120", help="the guests' picture size, WxH")
    parser.add_argument("--proxies", action="store_true", help="also time an export with proxies")
    args = parser.parse_args(argv)
    seconds = max(2.0, round(args.minutes * 60))
    size = tuple(int(n) for n in args.size.lower().split("x"))
    guests = [GuestSpec(f"Guest{i + 1}", 0.5 + 1.7 * i, seconds - 1.7 * i, video=i < args.guests - 1,
                        size=size) for i in range(args.guests)]
    video_hours = sum(round(g.seconds) for g in guests if g.video) / 3600
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
        proxy_took = proxies = None
        if args.proxies:
            began, cpu_began = time.perf_counter(), time.process_time()
            proxied = export_session(folder, proxies=True)
            proxy_took, proxy_cpu = time.perf_counter() - began, time.process_time() - cpu_began
            proxies = sorted(p.name for p in (proxied.folder / "proxies").glob("*.mov"))
    off = max((min(t % 1.0, 1.0 - t % 1.0) for t in onsets), default=None)
    row = {"minutes": seconds / 60, "guests": args.guests, "made_seconds": round(made, 1),
           "export_seconds": round(took, 2), "realtime_factor": round(seconds / took, 1),
           "stem_lengths": sorted(lengths), "beeps_checked": len(onsets),
           "beep_off_ms": None if off is None else round(off * 1000, 1), "size": args.size}
    print(f"{args.guests} guests x {seconds / 60:.1f} min (made in {made:.1f} s): export "
          f"{took:.1f} s, {seconds / took:.0f}x real time; stems one length: {len(lengths) == 1}; "
          f"beeps within {row['beep_off_ms']} ms of the whole seconds")
    if proxy_took is not None:
        added = proxy_took - took
        row.update(proxy_export_seconds=round(proxy_took, 2), proxy_seconds=round(added, 2),
                   proxy_export_cpu_seconds=round(proxy_cpu, 2), proxies=proxies,
                   video_hours=round(video_hours, 4), proxy_seconds_per_video_hour=round(added / video_hours),
                   proxy_cpu_seconds_per_video_hour=round(proxy_cpu / video_hours))
        print(f"with proxies ({len(proxies)} files; {video_hours * 60:.1f} min of {args.size} video): "
              f"export {proxy_took:.1f} s ({proxy_cpu:.1f} s of CPU), the proxies {added:.1f} s: about "
              f"{added / video_hours:.0f} s and {proxy_cpu / video_hours:.0f} CPU-s per hour of video "
              f"(extrapolated from {video_hours * 60:.1f} min)")
    return row


if __name__ == "__main__":
    main()
