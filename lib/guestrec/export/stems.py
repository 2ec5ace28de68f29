"""One WAV per lane (guest, OBS), all the same length: sample 0 is the session's start,
silence wherever the lane has no sound.

Only the sound is decoded (PyAV), a frame at a time, and written as it comes: a long
session is never held in memory. Within a file the samples follow on from each other; the
file's own timestamps are checked as they go, and a jump of more than 20 ms (a hole in the
file) moves the position to where the timestamps say.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

from .model import Lane, Session
from .wav_writer import WavWriter

RATE = 48_000
RESYNC_SECONDS = 0.02


def stem_length(session: Session) -> int:
    """Samples in every stem: up to the end of the session's last file."""
    return math.ceil(session.length * RATE)


def write_stems(session: Session, folder: Path, progress: Callable[[str], None] = lambda _: None,
                workers: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    total = stem_length(session)
    lanes = [lane for lane in session.lanes if lane.has_audio]

    def one(lane: Lane) -> Path:
        path = folder / lane.stem_name
        write_stem(lane, path, total)
        progress(f"stem {path.name} written")
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, lanes))


def write_stem(lane: Lane, path: Path, total: int) -> None:
    writer = WavWriter(path, RATE, lane.channels)
    cursor = 0  # samples written
    pending: list[np.ndarray] = []  # blocks that follow on at the cursor, written a second at a time
    held = 0

    def flush() -> None:
        nonlocal pending, held, cursor
        if pending:
            writer.write(np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0])
            cursor += held
        pending, held = [], 0

    try:
        for f in sorted((f for f in lane.files if f.probe.has_audio), key=lambda f: f.audio_start):
            for position, block in audio_blocks(f.path, f.audio_start, lane.channels):
                end = cursor + held
                if position >= total:
                    break
                if position > end:
                    flush()
                    writer.silence(position - cursor)
                    cursor = end = position
                skip = end - position  # overlaps what is written already
                block = block[:, skip: skip + total - end] if skip > 0 else block[:, : total - end]
                if block.shape[1]:
                    pending.append(block)
                    held += block.shape[1]
                if held >= RATE:
                    flush()
        flush()
        writer.silence(total - cursor)
    finally:
        writer.close()


def audio_blocks(path: Path, origin: float, channels: int) -> Iterator[tuple[int, np.ndarray]]:
    """(sample position, float32 samples (channels, n)) of the file's sound, positions
    counted from where the file's time 0 is `origin` seconds."""
    layout = "mono" if channels == 1 else "stereo"
    resampler: av.AudioResampler | None = None
    run_start: int | None = None
    produced = 0
    expected: float | None = None  # file time the next frame should have
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                at = float(frame.time) if frame.time is not None else expected
                if at is None:
                    at = 0.0
                if expected is None or abs(at - expected) > RESYNC_SECONDS:
                    if resampler is not None:
                        for out in resampler.resample(None):
                            yield run_start + produced, _planes(out)  # type: ignore[operator]
                            produced += out.samples
                        resampler = None
                    run_start = round((origin + at) * RATE)
                    produced = 0
                expected = at + frame.samples / frame.sample_rate
                direct = _direct(frame, channels)
                if direct is not None and resampler is None:
                    yield run_start + produced, direct
                    produced += direct.shape[1]
                    continue
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
                frame.pts = None  # the samples follow on; the resampler need not look at times
                for out in resampler.resample(frame):
                    yield run_start + produced, _planes(out)
                    produced += out.samples
        except (av.error.InvalidDataError, av.error.EOFError):
            pass  # a file cut short: what was decoded is kept
    if resampler is not None and run_start is not None:
        for out in resampler.resample(None):
            yield run_start + produced, _planes(out)
            produced += out.samples


def _direct(frame: av.AudioFrame, channels: int) -> np.ndarray | None:
    """The samples as they are, when the decoder gives 48 kHz float planes (Opus, PCM
    float): no resampler needed, only a channel mix."""
    if frame.sample_rate != RATE or frame.format.name != "fltp":
        return None
    planes = frame.to_ndarray()
    if planes.shape[0] == channels:
        return planes
    if channels == 1:
        return planes.mean(axis=0, keepdims=True, dtype=np.float32)
    if planes.shape[0] == 1:
        return np.repeat(planes, 2, axis=0)
    return planes[:2]


def _planes(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().astype(np.float32, copy=False)
