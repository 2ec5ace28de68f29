"""Build the replay clips and print their real bitrates (a check of the benchmark input).

    .venv/bin/python tests/bench/bench_fixture_check.py [--size 1280x720] [--kbps 6000]
"""

from __future__ import annotations

import argparse
import time

from replay import opus_clip, video_clip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--kbps", type=int, default=6000)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    start = time.perf_counter()
    video = video_clip(width, height, kbps=args.kbps)
    audio = opus_clip()
    video_kbps = sum(len(p) for p in video.packets) * 8 / (len(video.packets) / 30) / 1000
    audio_kbps = sum(len(p) for p in audio.packets) * 8 / (len(audio.packets) / 50) / 1000
    print(f"video: {len(video.packets)} frames, {video_kbps:.0f} kbps (asked {args.kbps}), "
          f"keyframes at {video.keyframe_indexes}")
    print(f"audio: {len(audio.packets)} packets, {audio_kbps:.0f} kbps")
    print(f"built in {time.perf_counter() - start:.1f} s")
    return {"video_frames": len(video.packets), "video_kbps": video_kbps, "asked_kbps": args.kbps,
            "keyframes": video.keyframe_indexes, "audio_packets": len(audio.packets),
            "audio_kbps": audio_kbps}


if __name__ == "__main__":
    main()
