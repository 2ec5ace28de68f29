"""Encoder settings for recordings: a bitrate that holds, fast enough for real time.

Setting only `bit_rate` is not enough: libvpx and x264 then treat it as a loose average.
Each codec gets the bitrate plus its rate-control options (constant bitrate with a one
second buffer where the codec supports it) and its real-time speed settings, sized so a
720p30 stream encodes in well under a core. The quantizer may go down to 0 so that simple
pictures (a guest in front of a wall) still get the bitrate asked for, as quality.
"""

from __future__ import annotations

import os

KEYFRAME_SECONDS = 4  # a keyframe every few seconds keeps files seekable and repairable
NOMINAL_FPS = 30  # only a hint for rate control; timestamps come from the stream

ENCODER_NAMES = {
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "av1": "libsvtav1",
    "h264": "libx264",
    "opus": "libopus",
    "pcm_f32le": "pcm_f32le",
}


def _cbr(kbps: int) -> dict[str, str]:
    rate = f"{kbps}k"
    return {"minrate": rate, "maxrate": rate, "bufsize": rate}


def video_options(codec: str, kbps: int, threads: int = 2) -> dict[str, str]:
    """Codec options (passed at open) for a recording at `kbps`."""
    if codec == "vp8":
        # cpu-used 12 and one thread: 7.5 ms of CPU per 720p frame at 6 Mbps, about 0.23
        # core at 30 fps. A second libvpx VP8 thread more than doubled the CPU and made each
        # frame slower, not faster (tests/bench/bench_vp8_encoder.py measures it).
        return {
            **_cbr(kbps), "deadline": "realtime", "cpu-used": "12", "lag-in-frames": "0",
            "threads": "1", "qmin": "0", "qmax": "63",
        }
    if codec == "vp9":
        return {
            **_cbr(kbps), "deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
            "row-mt": "1", "tile-columns": "2", "threads": str(threads),
            "qmin": "0", "qmax": "63",
        }
    if codec == "h264":
        return {
            "preset": "superfast", "tune": "zerolatency", "maxrate": f"{kbps}k",
            "bufsize": f"{kbps}k", "threads": str(threads),
        }
    if codec == "av1":
        # Low-delay prediction allows SVT-AV1's constant bitrate mode (rc=2).
        os.environ.setdefault("SVT_LOG", "1")  # errors only; it is chatty on stderr
        return {"preset": "10", "svtav1-params": "pred-struct=1:rc=2"}
    raise ValueError(f"no video encoder for {codec!r}")


def audio_options(codec: str) -> dict[str, str]:
    if codec == "opus":
        # Hard constant bitrate: the file gets the bitrate that was asked for.
        return {"application": "audio", "frame_duration": "20", "vbr": "off"}
    return {}
