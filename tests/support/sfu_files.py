"""Recordings of SFU tests, looked at from outside: which files each guest got, and the
CounterVideoTrack frame numbers they hold (ffmpeg must decode them without an error)."""

from __future__ import annotations

import json
from pathlib import Path

from support.media_probe import decoded_video, ffprobe_decode_errors, read_counter


def recordings(folder: Path) -> dict[str, list[Path]]:
    """Media files by guest, from their sidecars (in the run's session folder)."""
    found: dict[str, list[Path]] = {}
    for side in sorted(folder.rglob("*.json")):
        meta = json.loads(side.read_text())
        if "guest" not in meta:
            continue  # the session's own manifest
        media = [p for p in side.parent.glob(side.stem + ".*") if p.suffix != ".json"]
        assert len(media) == 1, (side, media)
        found.setdefault(meta["guest"], []).append(media[0])
    return found


def frame_numbers(path: Path) -> list[int]:
    assert ffprobe_decode_errors(path) == "", path
    return [n for _, n in decoded_video(path, read_counter)]


def assert_unbroken(numbers: list[int], first_at_most: int, last_at_least: int, label: str) -> None:
    assert numbers, f"{label}: no video"
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), \
        f"{label}: frames missing or repeated"
    assert numbers[0] <= first_at_most, f"{label}: first frame {numbers[0]} (> {first_at_most})"
    assert numbers[-1] >= last_at_least, f"{label}: last frame {numbers[-1]} (< {last_at_least})"
