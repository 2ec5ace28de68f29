"""Edit-friendly copies of the files the timeline uses: H.264 (constant frame rate at the
session's rate, a keyframe every second) and 24-bit PCM in MOV, which every editor reads.

A proxy keeps the original's timing: its time 0 is the original's first timestamp, its
length the original's, so a clip placed for the original is placed right for the proxy.
Picture before the file's first frame is black, sound before its first sample silent; a
guest whose picture size changed mid-file is letterboxed into the first size.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..media.videofit import fit_frame
from .kdenlive import frame_rate_fraction
from .model import SourceFile
from .stems import RATE, audio_blocks

PROXY_SUFFIX = ".mov"


def needs_proxy(path: Path) -> bool:
    return path.suffix.lower() not in (".mov", ".mp4")


def proxy_name(path: Path) -> str:
    return path.stem + PROXY_SUFFIX


def make_proxy(source: SourceFile, dest: Path, rate: float,
               progress: Callable[[float], None] = lambda _: None) -> None:
    probe = source.probe
    fps = frame_rate_fraction(rate)
    frames_total = max(1, round(probe.duration * float(fps)))
    samples_total = round(probe.duration * RATE)
    with av.open(str(dest), "w", format="mov") as out:
        video = audio = None
        if probe.has_video:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height = (probe.width or 640) & ~1, (probe.height or 360) & ~1
            video.pix_fmt = "yuv420p"
            video.time_base = 1 / fps
            video.options = {"preset": "veryfast", "crf": "18", "g": str(round(float(fps)))}
        channels = min(2, probe.channels or 1)
        if probe.has_audio:
            audio = out.add_stream("pcm_s24le", rate=RATE)
            audio.layout = "mono" if channels == 1 else "stereo"
        if video is not None:
            _write_video(source, out, video, frames_total, fps, progress if audio is None else lambda _: None)
        if audio is not None:
            _write_audio(source, out, audio, channels, samples_total, progress)
    progress(1.0)


def _write_video(source: SourceFile, out: av.container.OutputContainer, stream: av.VideoStream,
                 total: int, fps: Fraction, progress: Callable[[float], None]) -> None:
    first = source.probe.first_time
    black = av.VideoFrame(stream.width, stream.height, "yuv420p")
    for index, plane in enumerate(black.planes):
        np.frombuffer(plane, dtype=np.uint8)[:] = 16 if index == 0 else 128
    shown = black
    index = 0

    def emit(frame: av.VideoFrame, upto: int) -> None:
        nonlocal index
        while index < min(upto, total):
            frame.pts, frame.time_base = index, 1 / fps
            out.mux(stream.encode(frame))
            index += 1
            if index % 300 == 0:
                progress(index / total / 2)

    with av.open(str(source.path)) as container:
        decoded = container.streams.video[0]
        decoded.thread_type = "AUTO"
        try:
            for frame in container.decode(decoded):
                if frame.time is None:
                    continue
                # Output frames due before this one (nearest-frame rule) still show the last one.
                due = round((float(frame.time) - first) * float(fps))
                emit(shown, due)
                shown = fit_frame(frame, stream.width, stream.height)
                if index >= total:
                    break
        except (av.error.InvalidDataError, av.error.EOFError):
            pass
    emit(shown, total)
    out.mux(stream.encode(None))


def _write_audio(source: SourceFile, out: av.container.OutputContainer, stream: av.AudioStream,
                 channels: int, total: int, progress: Callable[[float], None]) -> None:
    layout = "mono" if channels == 1 else "stereo"
    written = 0

    def put(samples: np.ndarray) -> None:
        nonlocal written
        if samples.shape[1] == 0:
            return
        ints = (np.clip(samples, -1.0, 1.0 - 2 ** -23) * 2 ** 31).astype(np.int32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(ints.T.reshape(1, -1)), format="s32",
                                           layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = RATE, written, Fraction(1, RATE)
        out.mux(stream.encode(frame))
        written += samples.shape[1]

    for position, block in audio_blocks(source.path, -source.probe.first_time, channels):
        if position >= total:
            break
        while written < position:
            put(np.zeros((channels, min(RATE, position - written)), np.float32))
        skip = written - position
        put(block[:, max(0, skip): max(0, skip) + total - written])
        if written % (RATE * 10) < block.shape[1]:
            progress(0.5 + written / max(1, total) / 2)
    while written < total:
        put(np.zeros((channels, min(RATE, total - written)), np.float32))
    out.mux(stream.encode(None))
