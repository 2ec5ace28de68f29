"""Bitrate accuracy per record mode: one aiortc guest with moving 1280x720@30 content and a
tone, recorded by the real server for --seconds (default 60) per mode; the file is read
back with PyAV (packet sizes per stream over the stream's duration).

    .venv/bin/python tests/bench/bench_bitrate.py [--seconds 60] [--modes 6000,2000,0,-120,h264:6000]

A mode is `[codec:]record`, e.g. `vp9:4000`; codec defaults to vp8. `fps` is the video
packets in the file per second: 30 when every frame sent was written. `--size` changes the
guest's picture (the bitrate asked is reached only with enough picture to spend it on).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent.parent / "lib")]

import av  # noqa: E402

from guestrec.common.plan import make_plan  # noqa: E402
from support.serve_process import ServeProcess  # noqa: E402
from support.synthetic import MovingVideoTrack, SharedClock, ToneAudioTrack  # noqa: E402
from support.whip_client import WhipClient  # noqa: E402


def stream_kbps(path: Path) -> dict[str, tuple[str, float, float, int]]:
    """kind -> (codec, kbps, seconds, packets), from the packets actually in the file."""
    result = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            if stream.type not in ("audio", "video"):
                continue
            size, count, first, last = 0, 0, None, None
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                size += packet.size
                count += 1
                t = float(packet.pts * packet.time_base)
                first = t if first is None else min(first, t)
                last = t if last is None else max(last, t)
            container.seek(0)
            seconds = (last or 0) - (first or 0)
            kbps = size * 8 / max(seconds, 1e-9) / 1000
            result[stream.type] = (stream.codec_context.name, kbps, seconds, count)
    return result


async def one_guest(server: ServeProcess, seconds: float, width: int, height: int) -> None:
    clock = SharedClock()
    tracks = [ToneAudioTrack(440, clock=clock), MovingVideoTrack(width, height, 30, clock=clock)]
    async with WhipClient(f"{server.base}/whip/bench", token=server.token, tracks=tracks,
                          data_channel=False) as client:
        await client.publish()
        await client.wait_connected(15)
        await asyncio.sleep(seconds)


@dataclass
class Row:
    mode: str
    kind: str  # "video" or "audio"
    codec: str
    asked_kbps: int | None
    kbps: float
    seconds: float
    packets: int

    @property
    def error_percent(self) -> float | None:
        return (self.kbps - self.asked_kbps) / self.asked_kbps * 100 if self.asked_kbps else None


def measure(mode: str, seconds: float, width: int, height: int) -> list[Row]:
    """One guest recorded in this mode; a row per stream of its file (none: no file)."""
    codec, _, record = mode.rpartition(":")
    codec = codec or "vp8"
    plan = make_plan(record, codec=codec)
    with tempfile.TemporaryDirectory() as out:
        server = ServeProcess(Path(out), "--record", record, "--codec", codec)
        try:
            asyncio.run(one_guest(server, seconds, width, height))
        finally:
            server.stop()
        # The server writes each run into a session folder.
        files = [p for p in Path(out).rglob("*") if p.suffix in (".webm", ".mkv", ".mka")]
        if len(files) != 1:
            print(f"{mode:12} expected one file, got {[p.name for p in files]}")
            return []
        return [Row(mode, kind, name, plan.video_kbps if kind == "video" else plan.audio_kbps,
                    kbps, secs, count)
                for kind, (name, kbps, secs, count) in sorted(stream_kbps(files[0]).items(), reverse=True)]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--modes", default="6000,2000,0,-120,h264:6000")
    parser.add_argument("--size", default="1280x720", help="the guest's picture size")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    print(f"{'mode':12} {'stream':6} {'codec':10} {'asked kbps':>10} {'got kbps':>9} {'error':>7} "
          f"{'secs':>6} {'fps':>5}")
    rows: list[Row] = []
    for mode in args.modes.split(","):
        for row in measure(mode, args.seconds, width, height):
            rows.append(row)
            error = f"{row.error_percent:+.1f}%" if row.error_percent is not None else "-"
            fps = f"{row.packets / row.seconds:.1f}" if row.kind == "video" and row.seconds else "-"
            print(f"{row.mode:12} {row.kind:6} {row.codec:10} {row.asked_kbps or '-':>10} {row.kbps:>9.1f} "
                  f"{error:>7} {row.seconds:>6.1f} {fps:>5}", flush=True)
    return rows


if __name__ == "__main__":
    main()
