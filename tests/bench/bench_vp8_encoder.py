"""CPU per 720p frame of the transcode path, outside any network: VP8 decode of the
replay clip (~6 Mbps moving content), then VP8 encode at 6 Mbps with the recorder's
options, for several libvpx speed (cpu-used) and thread settings.

    .venv/bin/python tests/bench/bench_vp8_encoder.py [--cpu-used 8,12,16] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import fractions
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent / "lib")]

import av  # noqa: E402
from replay import video_clip  # noqa: E402

from guestrec.media.encoders import video_options  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    """Returns the decode cost and a row per encoder setting (ms per frame, kbps)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-used", default="8,12,16")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--size", default="1280x720", help="picture size of the clip")
    parser.add_argument("--kbps", type=int, default=6000, help="bitrate of the clip")
    parser.add_argument("--frames", type=int, default=0,
                        help="frames encoded per setting (default: the clip twice over)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    clip = video_clip(width, height, kbps=args.kbps)
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    started = time.process_time()
    for data in clip.packets:
        frames += decoder.decode(av.Packet(data))
    decode_ms = (time.process_time() - started) / len(clip.packets) * 1000
    print(f"decode {width}x{height} VP8: {decode_ms:.2f} ms CPU per frame")
    result: dict = {"decode_cpu_ms": decode_ms, "frames_decoded": len(frames), "encoders": []}
    for cpu_used in args.cpu_used.split(","):
        for threads in args.threads.split(","):
            encoder = av.CodecContext.create("libvpx", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.time_base = fractions.Fraction(1, 90000)
            encoder.bit_rate = 6_000_000
            options = video_options("vp8", 6000)
            options.update({"cpu-used": cpu_used, "threads": threads})
            encoder.options = options
            size, count = 0, args.frames or len(frames) * 2
            cpu, wall = time.process_time(), time.perf_counter()
            for index in range(count):
                frame = frames[index % len(frames)]
                frame.pts = index * 3000
                size += sum(p.size for p in encoder.encode(frame))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            row = {"cpu_used": int(cpu_used), "threads": int(threads), "frames": count,
                   "cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000,
                   "kbps": size * 8 / (count / 30) / 1000}
            result["encoders"].append(row)
            print(f"encode VP8 6000 kbps cpu-used {cpu_used:>2} threads {threads}: "
                  f"{row['cpu_ms']:6.2f} ms CPU, {row['wall_ms']:6.2f} ms wall per frame, "
                  f"{row['kbps']:5.0f} kbps")
    return result


if __name__ == "__main__":
    main()
