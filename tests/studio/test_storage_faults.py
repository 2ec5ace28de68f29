"""The output folder deleted, made read-only or full while guests record.

Each fault hits one guest's folder; a second guest records into another folder and must
not notice. Mounts are made and removed by the tests (root only; skipped otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import probe, streams_of
from support.synthetic import MovingVideoTrack, ToneAudioTrack

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} failed: {done.stderr.strip()}")


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def guests(hit: Path, fine: Path, split_minutes: float | None = None) -> list[GuestSpec]:
    return [
        GuestSpec("hit", [MovingVideoTrack(320, 240, fps=15), ToneAudioTrack()], make_plan(1000), hit,
                  split_minutes=split_minutes),
        GuestSpec("fine", [MovingVideoTrack(320, 240, fps=15), ToneAudioTrack()], make_plan(1000), fine),
    ]


def no_empty_files(folder: Path) -> None:
    empty = [p.name for p in folder.iterdir() if p.is_file() and p.stat().st_size == 0]
    assert not empty, empty


def assert_fine_guest_unharmed(fine_result) -> None:
    assert fine_result.media.recording_status()["error"] is None
    side = read_sidecar(fine_result.path)
    assert side["status"] == "complete", side
    assert abs(float(probe(fine_result.path)["format"]["duration"]) - fine_result.elapsed) <= 0.6


def test_output_folder_deleted_mid_recording(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hit, fine = tmp_path / "hit", tmp_path / "fine"
    seen: dict[str, float] = {}

    def during(results, t: float) -> None:
        if t >= 2.0 and "deleted" not in seen:
            shutil.rmtree(hit)
            seen["deleted"] = t
        status = results[0].media.recording_status()
        if "deleted" in seen and status and status["error"] and "error" not in seen:
            seen["error"] = t - seen["deleted"]

    with caplog.at_level(logging.WARNING, logger="guestrec"):
        hit_result, fine_result = asyncio.run(record_guests(guests(hit, fine), seconds=5.0, during=during))
    status = hit_result.media.recording_status()
    print(f"deleted at {seen['deleted']:.1f} s; status error {seen.get('error', -1):.1f} s later: "
          f"{status['error']}")
    assert "error" in seen and seen["error"] <= 2.5
    assert status["recording"] is False and "deleted" in status["error"]
    assert any("deleted" in r.getMessage() for r in caplog.records)  # the OBS log gets this
    # The folder is back, with the sidecar saying what was lost; no media file pretends.
    side = read_sidecar(hit_result.path)
    print(f"sidecar: {side['status']}, {side['errors']}")
    assert side["status"] == "failed" and any("deleted" in e for e in side["errors"])
    assert not hit_result.path.exists()
    assert_fine_guest_unharmed(fine_result)
    # A new recording into a deleted folder recreates it.
    shutil.rmtree(hit)
    (again,) = asyncio.run(record_guests(guests(hit, fine)[:1], seconds=1.5))
    assert again.path.parent == hit and read_sidecar(again.path)["status"] == "complete"


@needs_root
def test_output_folder_made_read_only_mid_recording(tmp_path: Path) -> None:
    hit, fine = tmp_path / "hit", tmp_path / "fine"
    hit.mkdir()
    seen: dict[str, object] = {}

    def during(results, t: float) -> None:
        if t >= 1.0 and "ro" not in seen:
            mount("--bind", str(hit), str(hit))
            seen["ro"] = True
            mount("-o", "remount,ro,bind", str(hit))
        status = results[0].media.recording_status() or {}
        if status.get("warning") and "warning" not in seen:
            seen["warning"] = status["warning"]
        if status.get("error") and "error" not in seen:
            seen["error"] = status["error"]

    try:
        # Files split every 3 s: the split after the folder became read-only cannot be made.
        hit_result, fine_result = asyncio.run(
            record_guests(guests(hit, fine, split_minutes=0.05), seconds=5.0, during=during))
    finally:
        umount(hit)
    print(f"warning: {seen.get('warning')}\nerror: {seen.get('error')}")
    assert "not writable" in str(seen.get("warning"))
    assert "Read-only" in str(seen.get("error"))
    status = hit_result.media.recording_status()
    assert status["recording"] is False
    side = read_sidecar(hit_result.path)  # written through the sidecar kept open
    print(f"first file's sidecar: {side['status']}, errors {side['errors']}, warnings {side['warnings']}")
    assert side["status"] == "failed" and any("Read-only" in e for e in side["errors"])
    assert float(probe(hit_result.path)["format"]["duration"]) >= 2.5  # the file up to the split
    no_empty_files(hit)
    assert [p.suffix for p in sorted(hit.iterdir())] == [".json", ".webm"]
    assert_fine_guest_unharmed(fine_result)


@needs_root
def test_disk_full_when_joining_and_mid_recording(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(full))
    try:
        filler = full / "filler.bin"
        # Joining with less than the minimum free: refused at once, nothing made.
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1k", "count=2400"], capture_output=True)
        (refused,) = asyncio.run(record_guests(guests(full, tmp_path / "x")[:1], seconds=0.5))
        print(f"joining a full disk: {refused.error}")
        assert isinstance(refused.error, OSError) and "No space" in str(refused.error)
        assert sorted(p.name for p in full.iterdir()) == ["filler.bin"]
        # Joining with a little room: the recording starts, fills the disk and stops cleanly.
        filler.unlink()
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1k", "count=1700"], capture_output=True)
        spec = GuestSpec("hit", [MovingVideoTrack(640, 360, fps=30), ToneAudioTrack()], make_plan(6000), full)
        (result,) = asyncio.run(record_guests([spec], seconds=4.0))
        status = result.media.recording_status()
        print(f"full mid-recording: {status['error']}; files {sorted(p.name for p in full.iterdir())}")
        assert status["recording"] is False and "No space" in status["error"]
        no_empty_files(full)
        side = read_sidecar(result.path)
        assert side["status"] == "failed" and any("No space" in e for e in side["errors"])
        assert streams_of(probe(result.path), "video")
    finally:
        umount(full)
