"""Split recording: consecutive files, each playable alone, seamless at the seams."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import av
import numpy as np

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import (
    audio_samples,
    decoded_video,
    ffprobe_decode_errors,
    probe,
    read_counter,
)
from support.synthetic import CounterVideoTrack, ToneAudioTrack

SPLIT_MINUTES = 0.05  # 3 s
RECORD_SECONDS = 8.5


def test_split_files_join_without_gap_or_overlap(tmp_path: Path) -> None:
    specs = [
        GuestSpec(codec, [CounterVideoTrack(320, 240), ToneAudioTrack()],
                  make_plan(1500, codec=codec), tmp_path / codec, split_minutes=SPLIT_MINUTES)
        for codec in ("vp8", "copy")
    ]
    results = asyncio.run(record_guests(specs, seconds=RECORD_SECONDS))
    for result in results:
        names = result.summary["files"]
        files = [result.spec.out_dir / name for name in names]
        assert len(files) >= 3, names
        assert files[0] == result.path
        assert sorted(p.name for p in result.spec.out_dir.glob("*.webm")) == sorted(names)
        numbers_per_file = []
        for path in files:
            assert ffprobe_decode_errors(path) == "", path
            with av.open(str(path)) as container:
                assert next(p for p in container.demux(video=0) if p.size).is_keyframe
            frames = decoded_video(path, read_counter)
            numbers = [n for _, n in frames]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), path
            numbers_per_file.append(numbers)
            # audio covers the same span as the video, starting at the file's start
            start, samples = audio_samples(path)
            video_span = frames[-1][0] - frames[0][0] + 1 / 30
            assert start <= 0.03
            # Both ends are quantized: 20 ms Opus packets against 33 ms frames, on either side.
            assert abs(len(samples) / 48_000 + start - video_span - frames[0][0]) <= 0.08, path
            assert read_sidecar(path)["status"] == "complete"
        # The files of one recording are one take, each sidecar naming its neighbours.
        takes = [read_sidecar(path)["take"] for path in files]
        assert len({t["id"] for t in takes}) == 1 and {t["part"] for t in takes} == {1}
        assert [t["previous_file"] for t in takes] == [None, *names[:-1]]
        assert [t["next_file"] for t in takes] == [*names[1:], None]
        for before, after in itertools.pairwise(numbers_per_file):
            seam = after[0] - before[-1]
            assert seam == 1, f"{result.spec.name}: frames {before[-1]} -> {after[0]}"
        durations = [float(probe(p)["format"]["duration"]) for p in files]
        print(f"{result.spec.name}: files of {[round(d, 2) for d in durations]} s")
        for d in durations[:-1]:
            assert 2.3 <= d <= 3.8


def test_audio_only_split_is_sample_continuous(tmp_path: Path) -> None:
    """PCM files split on the audio itself; joined, the tone runs on without a jump."""
    spec = GuestSpec("pcm", [ToneAudioTrack(440, amplitude=0.3)], make_plan(0), tmp_path,
                     split_minutes=SPLIT_MINUTES)
    (result,) = asyncio.run(record_guests([spec], seconds=7.5))
    files = [tmp_path / name for name in result.summary["files"]]
    assert len(files) >= 2 and all(p.suffix == ".mka" for p in files)
    parts = []
    for path in files:
        start, samples = audio_samples(path)
        assert start <= 0.001 and ffprobe_decode_errors(path) == ""
        parts.append(samples)
    joined = np.concatenate(parts)
    # The largest step between neighbouring samples of a 440 Hz, 0.3 tone is 0.017;
    # a missing or doubled stretch at a seam would jump much further.
    steps = np.abs(np.diff(joined))
    seams = np.cumsum([len(p) for p in parts])[:-1]
    for seam in seams:
        assert steps[seam - 3 : seam + 2].max() < 0.03, f"jump at sample {seam}"
    durations = [len(p) / 48_000 for p in parts]
    print(f"pcm: files of {[round(d, 2) for d in durations]} s")
    assert all(2.8 <= d <= 3.2 for d in durations[:-1])
