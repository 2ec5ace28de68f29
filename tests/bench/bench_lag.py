"""How far behind live each record mode can fall before a frame is dropped.

One real aiortc guest (640x360 at 30 fps + tone) is recorded while the writer thread is
slowed down on purpose (a sleep per item: the disk or the encoder not keeping up). The
benchmark prints, per mode, the recording's lag (status `lag_seconds`) when the first
frame was dropped, and the sidecar's frame counts at the end.

    .venv/bin/python tests/bench/bench_lag.py --modes vp8,copy,pcm --seconds 12 --slow 0.03
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "lib"))

from guestrec.common.plan import make_plan
from guestrec.media import writer as writer_module
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.synthetic import MovingVideoTrack, ToneAudioTrack

PLANS = {"vp8": lambda: make_plan(2000), "copy": lambda: make_plan(2000, codec="copy"),
         "pcm": lambda: make_plan(0)}


def slow_writer(seconds_per_item: float) -> None:
    original = writer_module.RecordingWriter._handle

    def handle(self, item):
        time.sleep(seconds_per_item)
        return original(self, item)

    writer_module.RecordingWriter._handle = handle


@dataclass
class Row:
    mode: str
    lag_at_first_drop: float | None  # the recording's lag (s) when the first frame was dropped
    first_drop_after: float | None  # seconds into the recording
    max_lag: float
    sidecar_status: str
    frames: dict  # the sidecar's frame counts per kind: received, written, dropped...

    def text(self) -> str:
        lag = (f"{self.lag_at_first_drop:.1f} s (after {self.first_drop_after:.1f} s)"
               if self.lag_at_first_drop is not None else "none")
        return (f"{self.mode:5} lag at first drop: {lag:24} max lag seen {self.max_lag:.1f} s; "
                f"sidecar {self.sidecar_status}: {self.frames}")


def run(mode: str, seconds: float, out: Path) -> Row:
    spec = GuestSpec(mode, [MovingVideoTrack(640, 360, fps=30), ToneAudioTrack()], PLANS[mode](), out)
    first_drop: dict[str, float] = {}

    def during(results, t: float) -> None:
        status = results[0].media.recording_status() or {}
        if sum((status.get("dropped") or {}).values()) and "lag" not in first_drop:
            first_drop.update(lag=status.get("lag_seconds") or 0.0, at=t)
        first_drop["max_lag"] = max(first_drop.get("max_lag", 0.0), status.get("lag_seconds") or 0.0)

    (result,) = asyncio.run(record_guests([spec], seconds=seconds, warmup=0.5, during=during))
    side = read_sidecar(result.path)
    return Row(mode, first_drop.get("lag"), first_drop.get("at"), first_drop.get("max_lag", 0.0),
               side["status"], side["frames"])


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="vp8,copy,pcm")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--slow", type=float, default=0.03, help="seconds the writer sleeps per item")
    args = parser.parse_args(argv)
    slow_writer(args.slow)
    print(f"writer slowed by {args.slow * 1000:.0f} ms per item; queue bounds: "
          f"{writer_module.MAX_ITEMS} items, {writer_module.MAX_DECODED_VIDEO} decoded pictures")
    rows: list[Row] = []
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run(mode, args.seconds, Path(tmp)))
            print(rows[-1].text(), flush=True)
    return rows


if __name__ == "__main__":
    main()
