"""Guest names made safe for file names and OBS source names.

A guest chooses its own name, so it is hostile input: it must never lead outside the
output folder, over another file, or onto a device name Windows reserves.
"""

from __future__ import annotations

import glob
import os
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

MAX_NAME_CHARS = 64
_WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE = re.compile(r"[^\w\-]+", re.UNICODE)


def display_name(raw: str) -> str:
    """A guest name fit to show (OBS source name, status lists): printable, trimmed."""
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:MAX_NAME_CHARS] or "guest"


def safe_file_stem(raw: str) -> str:
    """A file-name stem from a guest name: letters, digits, '_' and '-' only."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _UNSAFE.sub("_", text).strip("_.-")
    text = text[:MAX_NAME_CHARS].strip("_.-")
    if not text:
        return "guest"
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"_{text}"
    return text


STAMP_FORMAT = "%Y-%m-%d %H-%M-%S"  # OBS's own file names use local time in this form


def local_stamp(moment: datetime | None = None) -> str:
    """Local time as OBS writes it in file names: 2026-11-24 11-15-00."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone().strftime(STAMP_FORMAT)


def reserve_recording_path(
    out_dir: Path, guest: str, extension: str, moment: datetime | None = None
) -> Path:
    """Create and return a new, empty file `<guest> <local time>.<ext>` inside out_dir,
    e.g. `Ann 2026-11-29 17-05-03.webm`, named like OBS's own recordings.

    The file is created with O_EXCL so two recordings never share a path, even when two
    guests pick one name in the same second; " (2)", " (3)"... is added until a name is free.
    A stem already used by any file counts as taken: the sidecar (`<stem>.json`) and
    converted copies are named from the stem, so a recording restarted within the same
    second in another container must not share it.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{safe_file_stem(guest)} {local_stamp(moment)}"
    ext = extension.lstrip(".")
    for attempt in range(1000):
        candidate = stem if attempt == 0 else f"{stem} ({attempt + 1})"
        if next(out_dir.glob(glob.escape(candidate) + ".*"), None) is not None:
            continue
        path = out_dir / f"{candidate}.{ext}"
        # The stem holds no separators, but check anyway: nothing leaves out_dir.
        if path.parent != out_dir:
            raise ValueError(f"refusing path outside the output folder: {path}")
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free file name for {stem}.{ext} in {out_dir}")
