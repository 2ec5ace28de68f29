"""Publish test media with FFmpeg's own WHIP muxer (through PyAV), as a separate process.

    python -m support.ffmpeg_whip URL --token T --seconds 3 [--cert C --key K]

Encodes a moving picture as H.264 (baseline, no B-frames) and a stereo tone as Opus, and
muxes them in real time into FFmpeg's `whip` muxer. Run it in its own process: PyAV keeps
the GIL while the muxer blocks on the network, which would stall an asyncio loop sharing
the process. Exit status 0 when the whole stream was sent and the session DELETEd.

`--cert/--key` give FFmpeg a P-256 DTLS identity; without them FFmpeg's GnuTLS build makes
a P-224 one that aiortc's OpenSSL refuses (see guestrec.ingest.whip.FFMPEG_DTLS_HINT).
"""

from __future__ import annotations

import argparse
import fractions
import logging
import math
import struct
import sys
import time

import av

WIDTH, HEIGHT, FPS = 320, 240, 15
RATE, SAMPLES = 48000, 960


def picture(index: int) -> av.VideoFrame:
    bar = (index * 10) % WIDTH
    row = bytearray([60]) * WIDTH
    row[bar:bar + 24] = bytes([230]) * len(row[bar:bar + 24])
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    frame.planes[0].update(bytes(row) * HEIGHT)
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    frame.planes[1].update(chroma)
    frame.planes[2].update(chroma)
    frame.pts = index
    frame.time_base = fractions.Fraction(1, FPS)
    return frame


def tone(first: int) -> av.AudioFrame:
    values = []
    for n in range(first, first + SAMPLES):
        values.append(int(9000 * math.sin(2 * math.pi * 440 * n / RATE)))
        values.append(int(9000 * math.sin(2 * math.pi * 660 * n / RATE)))
    frame = av.AudioFrame(format="s16", layout="stereo", samples=SAMPLES)
    frame.planes[0].update(struct.pack(f"<{len(values)}h", *values))
    frame.sample_rate = RATE
    frame.pts = first
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def publish(url: str, token: str | None, seconds: float, cert: str | None, key: str | None) -> None:
    options = {"handshake_timeout": "5000"}
    if token:
        options["authorization"] = token
    if cert and key:
        options["cert_file"], options["key_file"] = cert, key
    container = av.open(url, "w", format="whip", options=options)
    try:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 400_000
        video.options = {"profile": "baseline", "tune": "zerolatency", "preset": "ultrafast",
                         "g": str(FPS), "bf": "0"}
        audio = container.add_stream("libopus", rate=RATE)
        audio.layout = "stereo"
        audio.bit_rate = 64_000
        start = time.monotonic()
        video_index = audio_first = 0
        while True:
            now = time.monotonic() - start
            if now >= seconds:
                break
            # Interleave by time so the muxer sends a live stream, not a burst.
            while video_index / FPS <= now:
                for packet in video.encode(picture(video_index)):
                    container.mux(packet)
                video_index += 1
            while audio_first / RATE <= now:
                for packet in audio.encode(tone(audio_first)):
                    container.mux(packet)
                audio_first += SAMPLES
            time.sleep(0.005)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    finally:
        container.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="ffmpeg-whip: %(name)s: %(message)s")
    try:
        publish(args.url, args.token, args.seconds, args.cert, args.key)
    except OSError as exc:
        print(f"ffmpeg-whip: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
