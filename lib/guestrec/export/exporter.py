"""Export a session folder: timelines for every editor, aligned stems, README.txt.

Everything is written into a temporary folder beside the destination and moved into place
only when complete, so a failed export leaves no half-written one and a new export replaces
the old one whole. A destination that exists and is not an export is never replaced.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .edl import write_edl
from .errors import ExportError, StillRecording
from .formats import write_timeline
from .kdenlive import write_kdenlive
from .layout import Layout, plan_layout
from .model import Session
from .proxy_set import make_proxies
from .readme import readme_text
from .session_reader import read_session
from .stems import write_stems
from .timeline import build_timeline

FORMATS = ("otio", "fcpxml", "xml", "kdenlive", "edl", "stems")
FILE_NAMES = {"otio": "session.otio", "fcpxml": "session.fcpxml", "xml": "session.xml",
              "kdenlive": "session.kdenlive", "edl": "session.edl"}
PROXY_FORMATS = ("fcpxml", "xml", "edl")  # these refer to the proxies when there are any
MARKER = ".guestrec-export"


@dataclass
class ExportResult:
    folder: Path
    session: Session
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def parse_formats(text: str) -> list[str]:
    wanted = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [w for w in wanted if w not in FORMATS]
    if unknown or not wanted:
        raise ExportError(f"unknown export format {', '.join(unknown) or '(none)'}: "
                          f"choose from {','.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]


def export_session(session_dir: Path | str, formats: list[str] | tuple[str, ...] = FORMATS,
                   out: Path | str | None = None, proxies: bool = False,
                   frame_rate: float | None = None, skip_missing: bool = False,
                   progress: Callable[[str], None] = lambda _: None) -> ExportResult:
    began = time.monotonic()
    session = read_session(session_dir, frame_rate=frame_rate, skip_missing=skip_missing)
    if not session.lanes and session.ended is None:
        # Open, and nothing written yet (its first recording has just begun), or ended by a
        # crash before anything was.
        raise StillRecording(f"the session in {session.folder.name} has not ended and none of its "
                             "recordings is written yet: stop its recordings and export again once "
                             "the session has ended", [])
    if not session.lanes:
        raise ExportError(f"{session.folder.name} has no recording that can be exported")
    target = Path(out).expanduser().resolve() if out else session.folder / "export"
    _check_replaceable(target)
    temp = target.parent / f".{target.name}.part-{secrets.token_hex(4)}"
    try:
        temp.mkdir(parents=True)
        _write_all(session, list(formats), temp, target, proxies, progress)
        _swap_in(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    written = sorted(p for p in target.rglob("*") if p.is_file() and p.name != MARKER)
    return ExportResult(target, session, written, time.monotonic() - began)


def _write_all(session: Session, formats: list[str], temp: Path, target: Path, proxies: bool,
               progress: Callable[[str], None]) -> None:
    layout = plan_layout(session)
    proxy_layout: Layout | None = None
    if proxies:
        media_for = make_proxies(session, temp / "proxies", target / "proxies", target / "proxies", progress)
        proxy_layout = plan_layout(session, media_for)
    title = session.name
    for fmt in formats:
        use = proxy_layout if proxy_layout is not None and fmt in PROXY_FORMATS else layout
        if fmt in ("otio", "fcpxml", "xml"):
            write_timeline(build_timeline(use, title, spine=fmt == "fcpxml"), fmt, temp / FILE_NAMES[fmt])
        elif fmt == "edl":
            (temp / FILE_NAMES[fmt]).write_text(write_edl(use, title), encoding="utf-8")
        elif fmt == "kdenlive":
            (temp / FILE_NAMES[fmt]).write_text(write_kdenlive(use, title, _picture_size(session)),
                                                encoding="utf-8")
        if fmt != "stems":
            progress(f"{FILE_NAMES[fmt]} written")
    stems = {}
    if "stems" in formats:
        write_stems(session, temp / "stems", progress, workers=max(1, min(4, os.cpu_count() or 1)))
        stems = {lane.name: lane.stem_name for lane in session.lanes if lane.has_audio}
    (temp / "README.txt").write_text(readme_text(session, layout, formats, proxies, stems), encoding="utf-8")
    (temp / MARKER).write_text(json.dumps({
        "session": session.name, "exported_utc": datetime.now(UTC).isoformat(),
        "formats": formats, "proxies": proxies}) + "\n", encoding="utf-8")


def _picture_size(session: Session) -> tuple[int, int]:
    sizes = [(f.probe.width or 0, f.probe.height or 0) for lane in session.lanes for f in lane.files
             if f.probe.has_video]
    width, height = max(sizes, key=lambda s: s[0] * s[1], default=(0, 0))
    return (width & ~1, height & ~1) if width >= 16 and height >= 16 else (1920, 1080)


def _check_replaceable(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder: choose another --out")
    if (target / MARKER).exists() or not any(target.iterdir()):
        return
    raise ExportError(f"{target} already holds other files: an export replaces its folder whole, "
                      "so choose an empty or new folder with --out")


def _swap_in(temp: Path, target: Path) -> None:
    """Move the finished export into place; the old one goes only once the new one is in."""
    if not target.exists():
        os.replace(temp, target)
        return
    old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
    os.replace(target, old)
    try:
        os.replace(temp, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
