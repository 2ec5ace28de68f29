"""The proxies of an export: one per file the timelines use (files already in MOV/MP4 are
used as they are), reused from the previous export when the original has not changed
since (same size, same modification time, same frame rate)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .model import Session
from .proxies import make_proxy, needs_proxy, proxy_name

INDEX = "proxies.json"


def make_proxies(session: Session, write_dir: Path, final_dir: Path, previous_dir: Path,
                 progress: Callable[[str], None]) -> dict[Path, Path]:
    """Makes the proxies in `write_dir`; returns original -> where the proxy will be
    (`final_dir`, once the export is moved into place)."""
    write_dir.mkdir(parents=True, exist_ok=True)
    before = _read_index(previous_dir)
    index: dict[str, dict] = {}
    media_for: dict[Path, Path] = {}
    files = [f for lane in session.lanes for f in lane.files if needs_proxy(f.path)]
    for number, source in enumerate(files, start=1):
        name = proxy_name(source.path)
        stat = source.path.stat()
        stamp = {"source": source.path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "rate": session.frame_rate}
        label = f"proxy {number}/{len(files)} {name}"
        if before.get(name) == stamp and (previous_dir / name).exists():
            _link_or_copy(previous_dir / name, write_dir / name)
            progress(f"{label}: unchanged, kept")
        else:
            make_proxy(source, write_dir / name, session.frame_rate,
                       lambda done, label=label: progress(f"{label}: {done * 100:3.0f}%"))
        index[name] = stamp
        media_for[source.path] = final_dir / name
    (write_dir / INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return media_for


def _read_index(folder: Path) -> dict:
    try:
        data = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)
