"""Bitrate accuracy per record mode: one aiortc guest with moving 1280x720@30 content and a
tone, recorded by the real server for --seconds (default 60) per mode; the file is read
back with PyAV (packet sizes per stream over the stream's duration).

    .venv/bin/python tests/bench/bench_bitrate.py [--seconds 60] [--modes 6000,2000,0,-120,h264:6000]

A mode is `[codec:]record`, e.g. `vp9:4000`; codec defaults to vp8. `fps` is the video
packets in the file per second: 30 when every frame sent was written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
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


async def one_guest(server: ServeProcess, seconds: float) -> None:
    clock = SharedClock()
    tracks = [ToneAudioTrack(440, clock=clock), MovingVideoTrack(1280, 720, 30, clock=clock)]
    async with WhipClient(f"{server.base}/whip/bench", token=server.token, tracks=tracks,
                          data_channel=False) as client:
        await client.publish()
        await client.wait_connected(15)
        await asyncio.sleep(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--modes", default="6000,2000,0,-120,h264:6000")
    args = parser.parse_args()
    print(f"{'mode':12} {'stream':6} {'codec':10} {'asked kbps':>10} {'got kbps':>9} {'error':>7} "
          f"{'secs':>6} {'fps':>5}")
    for mode in args.modes.split(","):
        codec, _, record = mode.rpartition(":")
        codec = codec or "vp8"
        plan = make_plan(record, codec=codec)
        with tempfile.TemporaryDirectory() as out:
            server = ServeProcess(Path(out), "--record", record, "--codec", codec)
            try:
                asyncio.run(one_guest(server, args.seconds))
            finally:
                server.stop()
            files = [p for p in Path(out).iterdir() if p.suffix in (".webm", ".mkv", ".mka")]
            if len(files) != 1:
                print(f"{mode:12} expected one file, got {[p.name for p in files]}")
                continue
            for kind, (name, kbps, secs, count) in sorted(stream_kbps(files[0]).items(), reverse=True):
                asked = plan.video_kbps if kind == "video" else plan.audio_kbps
                error = f"{(kbps - asked) / asked * 100:+.1f}%" if asked else "-"
                fps = f"{count / secs:.1f}" if kind == "video" and secs else "-"
                print(f"{mode:12} {kind:6} {name:10} {asked or '-':>10} {kbps:>9.1f} {error:>7} "
                      f"{secs:>6.1f} {fps:>5}",
                      flush=True)


if __name__ == "__main__":
    main()
