"""Looking at recorded files from outside: ffprobe and PyAV decoding, never our writer's word.

    probe(path)                   ffprobe's JSON (streams + format)
    decoded_video(path)           [(seconds, VideoFrame-derived data)] via a callback
    video_luma(path)              [(seconds, mean luma)] of every decodable frame
    audio_samples(path)           (start seconds, mono float32 samples at 48 kHz)
    flash_times / beep_times      onsets of the flash/beep test pattern
    packet_digests(path, kind)    hashes of every packet payload (to prove stream copy)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np


def probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def streams_of(info: dict, kind: str) -> list[dict]:
    return [s for s in info["streams"] if s.get("codec_type") == kind]


def ffprobe_decode_errors(path: Path) -> str:
    """stderr of a full ffmpeg decode of the file (empty when every packet decodes).
    The null output keeps the file's own time base (-enc_time_base -1): with its default
    of 1/frame-rate, two frames closer than a frame interval (a burst after a stall) would
    share a tick and be reported as a dts error that the file does not have."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0",
         "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-"],
        capture_output=True, text=True,
    )
    return out.stderr.strip()


def found(folder: Path, name: str) -> Path:
    """The one file called `name` in `folder` or below it (recordings go to session folders)."""
    matches = list(Path(folder).rglob(name))
    assert len(matches) == 1, f"{name} in {folder}: {matches}"
    return matches[0]


def decode_errors_of_irregular_frames(path: Path) -> str:
    """ffprobe_decode_errors for a file whose frames come at irregular times (a browser's
    recorder under load), with the null muxer's complaint about two frames that fall on one
    tick of its guessed frame rate left out: that is about ffmpeg's output, not the file.
    The file's own timestamps are checked to increase strictly instead."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=dts",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    dts = [int(x) for x in out.stdout.split() if x.strip().lstrip("-").isdigit()]
    problems = [f"video dts {a} then {b}" for a, b in itertools.pairwise(dts) if b <= a]
    problems += [line for line in ffprobe_decode_errors(path).splitlines()
                 if "non monotonically increasing dts to muxer" not in line]
    return "\n".join(problems)


def decoded_video(path: Path, take: Callable[[av.VideoFrame], Any]) -> list[tuple[float, Any]]:
    out: list[tuple[float, Any]] = []
    with av.open(str(path)) as container:
        if not container.streams.video:
            return out
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                out.append((float(frame.time), take(frame)))
        except av.FFmpegError:
            pass  # a file cut off mid-cluster ends in damaged data: keep what decoded
    return out


def video_luma(path: Path) -> list[tuple[float, float]]:
    return decoded_video(path, lambda f: float(f.to_ndarray(format="gray").mean()))


def audio_samples(path: Path) -> tuple[float, np.ndarray]:
    """Mono samples of the first audio stream at 48 kHz, placed by the frames' timestamps."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
    start: float | None = None
    chunks: list[np.ndarray] = []
    position = 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else None
                frame.pts = None
                for out in resampler.resample(frame):
                    data = out.to_ndarray().reshape(-1)
                    if start is None:
                        start = t or 0.0
                    elif t is not None:
                        # honour gaps in the file's timestamps
                        expected = start + position / 48_000
                        gap = round((t - expected) * 48_000)
                        if gap > 48:
                            chunks.append(np.zeros(gap, dtype=np.float32))
                            position += gap
                    chunks.append(data)
                    position += len(data)
                    t = None
        except av.FFmpegError:
            pass
    if not chunks:
        return 0.0, np.zeros(0, dtype=np.float32)
    return start or 0.0, np.concatenate(chunks)


def stereo_s16(path: Path) -> np.ndarray:
    """A recording's whole audio as (n, 2) samples on the int16 scale at 48 kHz (PyAV)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=48000)
        parts = [out.to_ndarray().reshape(-1, 2) for frame in container.decode(audio=0)
                 for out in resampler.resample(frame)]
    return np.concatenate(parts)


def flash_times(luma: list[tuple[float, float]], threshold: float = 128.0) -> list[float]:
    times = []
    previous = 0.0
    for t, value in luma:
        if value > threshold and previous <= threshold:
            times.append(t)
        previous = value
    return times


def beep_times(start: float, samples: np.ndarray, threshold: float = 0.2, quiet: float = 0.3) -> list[float]:
    """Onsets: first sample above threshold after at least `quiet` seconds below it."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    times = []
    last = -10**9
    for index in loud:
        if index - last > quiet * 48_000:
            times.append(start + index / 48_000)
        last = index
    return times


def pair_offsets(videos: list[float], audios: list[float], within: float = 0.4) -> list[float]:
    """audio - video for each flash that has a beep within `within` seconds."""
    offsets = []
    for v in videos:
        nearest = min(audios, key=lambda a: abs(a - v), default=None)
        if nearest is not None and abs(nearest - v) <= within:
            offsets.append(nearest - v)
    return offsets


def packet_digests(path: Path, kind: str) -> list[str]:
    digests = []
    with av.open(str(path)) as container:
        streams = container.streams.video if kind == "video" else container.streams.audio
        if not streams:
            return digests
        for packet in container.demux(streams[0]):
            if packet.size:
                digests.append(hashlib.sha1(bytes(packet)).hexdigest())
    return digests


def read_counter(frame: av.VideoFrame, bits: int = 16, block: int = 16) -> int:
    """The frame number drawn by synthetic.CounterVideoTrack (one bit per block, top row)."""
    gray = frame.to_ndarray(format="gray")
    value = 0
    for bit in range(bits):
        y = block // 2
        x = bit * block + block // 2
        if gray[y, x] > 128:
            value |= 1 << bit
    return value


def mean_yuv(path: Path) -> tuple[float, float, float]:
    """Median over the file's frames of each frame's mean Y, U and V (a flat colour's value)."""
    def take(frame: av.VideoFrame) -> tuple[float, float, float]:
        planes = frame.reformat(format="yuv420p").to_ndarray()
        height = frame.height
        y = planes[:height].mean()
        chroma = planes[height:].reshape(-1)
        half = chroma.size // 2
        return float(y), float(chroma[:half].mean()), float(chroma[half:].mean())

    values = [v for _, v in decoded_video(path, take)]
    if not values:
        return (0.0, 0.0, 0.0)
    arr = np.array(values)
    return tuple(float(x) for x in np.median(arr, axis=0))  # type: ignore[return-value]


def dominant_tone(path: Path) -> float:
    """The strongest frequency (Hz) in the file's first audio stream."""
    _, samples = audio_samples(path)
    if samples.size < 4800:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / 48_000)
    spectrum[freqs < 50] = 0
    return float(freqs[int(np.argmax(spectrum))])
