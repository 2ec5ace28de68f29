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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-used", default="8,12,16")
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    clip = video_clip()
    decoder = av.CodecContext.create("libvpx", "r")
    frames: list[av.VideoFrame] = []
    started = time.process_time()
    for data in clip.packets:
        frames += decoder.decode(av.Packet(data))
    per_frame_ms = (time.process_time() - started) / len(clip.packets) * 1000
    print(f"decode 1280x720 VP8: {per_frame_ms:.2f} ms CPU per frame")
    for cpu_used in args.cpu_used.split(","):
        for threads in args.threads.split(","):
            encoder = av.CodecContext.create("libvpx", "w")
            encoder.width, encoder.height, encoder.pix_fmt = 1280, 720, "yuv420p"
            encoder.time_base = fractions.Fraction(1, 90000)
            encoder.bit_rate = 6_000_000
            options = video_options("vp8", 6000)
            options.update({"cpu-used": cpu_used, "threads": threads})
            encoder.options = options
            size, count = 0, len(frames) * 2
            cpu, wall = time.process_time(), time.perf_counter()
            for index in range(count):
                frame = frames[index % len(frames)]
                frame.pts = index * 3000
                size += sum(p.size for p in encoder.encode(frame))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"encode VP8 6000 kbps cpu-used {cpu_used:>2} threads {threads}: "
                  f"{cpu / count * 1000:6.2f} ms CPU, {wall / count * 1000:6.2f} ms wall per frame, "
                  f"{size * 8 / (count / 30) / 1000:5.0f} kbps")


if __name__ == "__main__":
    main()
