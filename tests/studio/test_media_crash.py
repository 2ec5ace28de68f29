"""Crash safety: a recorder killed with SIGKILL leaves a playable file; repair fixes its index."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from guestrec.cli.repair import RepairError, repair_file
from support.media_probe import (
    audio_samples,
    decoded_video,
    packet_digests,
    probe,
    read_counter,
    streams_of,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_BEFORE_KILL = 6.0
MAX_LOSS = 2.0


def run_and_kill(out_dir: Path, record: str, codec: str) -> tuple[Path, float]:
    """Start a recording child, kill -9 it RUN_BEFORE_KILL s later.

    Returns the file and the sender's frame number at the moment of the kill.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "lib"), str(ROOT / "tests")]))
    child = subprocess.Popen(
        [sys.executable, "-m", "support.record_child", str(out_dir), record, codec],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    try:
        line = child.stdout.readline()
        assert line, "the recording child ended before recording"
        info = json.loads(line)
        time.sleep(RUN_BEFORE_KILL)
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return Path(info["path"]), (killed_at - info["track_start"]) * info["fps"]


def indexed(path: Path) -> int:
    """Index entries known right after opening: from the file's cues, if it has any."""
    with av.open(str(path)) as container:
        return len(container.streams.video[0].index_entries)


@pytest.mark.parametrize("codec", ["vp8", "copy"])
def test_kill_9_leaves_a_playable_file_and_repair_indexes_it(tmp_path: Path, codec: str) -> None:
    path, frame_at_kill = run_and_kill(tmp_path, "2000", codec)
    info = probe(path)
    assert streams_of(info, "video") and streams_of(info, "audio")
    frames = decoded_video(path, read_counter)  # [(file time, sender frame number)]
    assert len(frames) > 30
    (_, first_n), (last_t, last_n) = frames[0], frames[-1]
    # Every frame the file holds decodes, in order, none missing.
    numbers = [n for _, n in frames]
    assert numbers == list(range(first_n, first_n + len(numbers)))
    lost_seconds = (frame_at_kill - last_n) / 30
    start, samples = audio_samples(path)
    audio_end = start + len(samples) / 48_000
    kill_in_file = last_t + lost_seconds  # where the kill falls on the file's time line
    print(f"{codec}: {len(frames)} frames; video ends {lost_seconds:.2f} s before the kill, "
          f"audio {kill_in_file - audio_end:.2f} s before it")
    assert 0 <= lost_seconds <= MAX_LOSS
    assert kill_in_file - audio_end <= MAX_LOSS
    last_video = last_t

    # The interrupted file has no duration and no cues; repair adds both without re-encoding.
    assert info["format"].get("duration") in (None, "N/A") or indexed(path) == 0
    before = {kind: packet_digests(path, kind) for kind in ("video", "audio")}
    repaired = tmp_path / "copy" / path.name
    repaired.parent.mkdir()
    shutil.copy(path, repaired)
    assert repair_file(repaired) == repaired
    fixed = probe(repaired)
    assert abs(float(fixed["format"]["duration"]) - last_video) < 0.5
    assert indexed(repaired) > 0
    for kind in ("video", "audio"):
        after = packet_digests(repaired, kind)
        assert after == before[kind][: len(after)] and len(after) >= len(before[kind]) - 2


def test_repair_refuses_what_is_not_a_recording(tmp_path: Path) -> None:
    junk = tmp_path / "notes.webm"
    junk.write_bytes(b"not a media file at all" * 10)
    with pytest.raises(RepairError):
        repair_file(junk)
    with pytest.raises(RepairError):
        repair_file(tmp_path / "missing.webm")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RepairError):
        repair_file(text)
