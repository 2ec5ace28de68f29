"""A full disk ends that guest's recording cleanly; the other guest records on."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import probe, streams_of, video_luma
from support.synthetic import MovingVideoTrack, ToneAudioTrack


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 3 MB tmpfs to fill up: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_disk_full_stops_one_recording_cleanly(tmp_path: Path, small_disk: Path) -> None:
    fine_dir = tmp_path / "fine"
    full = GuestSpec("full", [MovingVideoTrack(640, 360), ToneAudioTrack()], make_plan(6000), small_disk)
    fine = GuestSpec("fine", [MovingVideoTrack(320, 240), ToneAudioTrack()], make_plan(1000), fine_dir)
    failed_at: list[float] = []

    def during(results, t: float) -> None:
        status = results[0].media.recording_status()
        if status and status["error"] and not failed_at:
            failed_at.append(t)

    full_result, fine_result = asyncio.run(record_guests([full, fine], seconds=9, during=during))

    # The failing guest: stopped, told, error recorded, file playable as far as it got.
    assert failed_at, "the recording on the full disk never reported an error"
    status = full_result.media.recording_status()
    assert status["recording"] is False
    assert "No space" in status["error"] or "28" in status["error"]
    assert any(c and c["error"] and not c["recording"] for c in full_result.changes)
    path = full_result.path
    side = read_sidecar(path)
    assert side["status"] == "failed" and any("No space" in e for e in side["errors"])
    luma = video_luma(path)
    print(f"full disk after {failed_at[0]:.1f} s; file plays {luma[-1][0]:.2f} s "
          f"({path.stat().st_size} bytes)")
    assert luma[-1][0] >= 1.5
    assert streams_of(probe(path), "audio")

    # The other guest went on to the end.
    assert fine_result.media.recording_status()["error"] is None
    info = probe(fine_result.path)
    assert abs(float(info["format"]["duration"]) - fine_result.elapsed) <= 0.5
    assert read_sidecar(fine_result.path)["status"] == "complete"
