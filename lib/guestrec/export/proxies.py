"""Edit-friendly copies of the files the timelines use: H.264 (constant frame rate at the
session's rate, a keyframe every second) and 24-bit PCM in MOV, which every editor reads.

A proxy keeps the original's timing: its time 0 is the original's first timestamp, its
length the original's, so a clip placed for the original is placed right for the proxy.
Picture before the file's first frame is black, sound before its first sample silent; a
guest whose picture size changed mid-file is letterboxed into the first size. Picture and
sound are made side by side (each from its own reading of the original) and written
interleaved, so a long proxy is never held in memory.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..media.videofit import fit_frame
from .kdenlive import frame_rate_fraction
from .model import SourceFile
from .stems import RATE, audio_blocks

Timed = tuple[float, list[av.Packet]]  # packets due at a time (seconds into the proxy)

PROXY_SUFFIX = ".mov"
AUDIO_CHUNK = RATE // 10  # samples per PCM packet


def needs_proxy(path: Path) -> bool:
    return path.suffix.lower() not in (".mov", ".mp4")


def proxy_name(path: Path) -> str:
    return path.stem + PROXY_SUFFIX


def make_proxy(source: SourceFile, dest: Path, rate: float,
               progress: Callable[[float], None] = lambda _: None) -> None:
    probe = source.probe
    fps = frame_rate_fraction(rate)
    duration = max(probe.duration, 1 / float(fps))
    with av.open(str(dest), "w", format="mov") as out:
        makers: list[Iterator[Timed]] = []
        if probe.has_video:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height = (probe.width or 640) & ~1, (probe.height or 360) & ~1
            video.pix_fmt = "yuv420p"
            video.time_base = 1 / fps
            video.options = {"preset": "veryfast", "crf": "18", "g": str(round(float(fps)))}
            makers.append(_video_packets(source, video, round(duration * float(fps)), fps))
        if probe.has_audio:
            channels = min(2, probe.channels or 1)
            audio = out.add_stream("pcm_s24le", rate=RATE)
            audio.layout = "mono" if channels == 1 else "stereo"
            makers.append(_audio_packets(source, audio, channels, round(duration * RATE)))
        reported = 0.0
        for at, packets in _by_time(makers):
            for packet in packets:
                out.mux(packet)
            if at - reported >= 10.0:
                reported = at
                progress(min(0.99, at / duration))
    progress(1.0)


def _by_time(makers: list[Iterator[Timed]]) -> Iterator[Timed]:
    """The packets of all streams, earliest first."""
    heap: list[tuple[float, int, list[av.Packet]]] = []
    for index, maker in enumerate(makers):
        first = next(maker, None)
        if first is not None:
            heapq.heappush(heap, (first[0], index, first[1]))
    while heap:
        at, index, packets = heapq.heappop(heap)
        yield at, packets
        following = next(makers[index], None)
        if following is not None:
            heapq.heappush(heap, (following[0], index, following[1]))


def _video_packets(source: SourceFile, stream: av.VideoStream, total: int,
                   fps: Fraction) -> Iterator[Timed]:
    first = source.probe.first_time
    black = av.VideoFrame(stream.width, stream.height, "yuv420p")
    for index, plane in enumerate(black.planes):
        np.frombuffer(plane, dtype=np.uint8)[:] = 16 if index == 0 else 128
    shown = black
    index = 0

    def emit(frame: av.VideoFrame, upto: int) -> Iterator[Timed]:
        nonlocal index
        while index < min(upto, total):
            frame.pts, frame.time_base = index, 1 / fps
            packets = stream.encode(frame)
            index += 1
            yield index / float(fps), packets

    with av.open(str(source.path)) as container:
        decoded = container.streams.video[0]
        decoded.thread_type = "AUTO"
        try:
            for frame in container.decode(decoded):
                if frame.time is None:
                    continue
                # Output frames due before this one (nearest frame) still show the last one.
                due = round((float(frame.time) - first) * float(fps))
                yield from emit(shown, due)
                shown = fit_frame(frame, stream.width, stream.height)
                if index >= total:
                    break
        except (av.error.InvalidDataError, av.error.EOFError):
            pass
    yield from emit(shown, total)
    yield total / float(fps), stream.encode(None)


def _audio_packets(source: SourceFile, stream: av.AudioStream, channels: int,
                   total: int) -> Iterator[Timed]:
    layout = "mono" if channels == 1 else "stereo"
    written = 0

    def put(samples: np.ndarray) -> Timed:
        nonlocal written
        ints = (np.clip(samples, -1.0, 1.0 - 2 ** -23) * 2 ** 31).astype(np.int32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(ints.T.reshape(1, -1)), format="s32",
                                           layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = RATE, written, Fraction(1, RATE)
        written += samples.shape[1]
        return written / RATE, stream.encode(frame)

    def silence(upto: int) -> Iterator[Timed]:
        while written < upto:
            yield put(np.zeros((channels, min(AUDIO_CHUNK, upto - written)), np.float32))

    for position, block in audio_blocks(source.path, -source.probe.first_time, channels):
        if position >= total:
            break
        yield from silence(position)
        skip = max(0, written - position)
        block = block[:, skip: skip + total - written]
        if block.shape[1]:
            yield put(block)
    yield from silence(total)
    yield total / RATE, stream.encode(None)
