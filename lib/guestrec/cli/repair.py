"""Repair an interrupted recording: rewrite duration and cues by remuxing (stream copy).

A recording cut off by a crash or power loss has all its clusters up to about a second
before the end, but no duration and no cues (index), so players cannot seek and show no
length. Remuxing every readable packet into a fresh file gives both; nothing is re-encoded.
The file is replaced only once the new one is written and readable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av

from ..media.remux import remux, replace_atomically
from ..media.sidecar import read_sidecar, sidecar_path, write_sidecar


class RepairError(ValueError):
    """A file that cannot be repaired (not a recording, nothing readable in it)."""


FORMATS = {".webm": "webm", ".mkv": "matroska", ".mka": "matroska"}


def repair_file(path: Path | str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise RepairError(f"no such file: {path}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RepairError(f"{path.name}: only .webm, .mkv and .mka recordings can be repaired")
    tmp = path.with_name(f".{path.name}.repairing")
    try:
        counts = remux(path, tmp, fmt)
    except av.FFmpegError as exc:
        raise RepairError(f"{path.name} cannot be read: {exc}") from exc
    if not any(counts.values()):
        tmp.unlink(missing_ok=True)
        raise RepairError(f"{path.name} holds no readable media")
    replace_atomically(tmp, path, check=_readable)
    _note_in_sidecar(path)
    return path


def _readable(path: Path) -> None:
    with av.open(str(path)) as container:
        if container.duration is None:
            raise RepairError(f"{path.name}: the repaired file has no duration")


def _note_in_sidecar(path: Path) -> None:
    if not sidecar_path(path).exists():
        return
    try:
        summary = read_sidecar(path)
    except (OSError, ValueError):
        return
    with av.open(str(path)) as container:
        duration = (container.duration or 0) / av.time_base
    summary["status"] = "repaired"
    summary["repaired_utc"] = datetime.now(UTC).isoformat()
    summary["duration_seconds"] = round(duration, 3)
    write_sidecar(path, summary)
