"""Session folders: every recording session gets its own folder in the output folder, with
a `session.json` manifest tying its files together.

A session opens with the first guest recording (or with OBS's own recording) and ends
when the last recording of it stops. The folder is named in local time, as OBS names
its own files ("Session 2026-11-29 17-45-03"). The manifest lists every guest file of the
session (read from the recordings' own sidecars, so it says what was really written),
its guest and its start on the session's timeline, and OBS's recording when one ran.
It is rewritten whenever something changes, so it is useful even after a crash.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..media.sidecar import parse_time, sidecar_path

log = logging.getLogger(__name__)

MANIFEST = "session.json"
FOLDER_FORMAT = "Session %Y-%m-%d %H-%M-%S"
MEDIA_SUFFIXES = (".webm", ".mkv", ".mka", ".mp4", ".m4a")  # .m4a: a Safari guest's own sound-only file


def _iso_local(moment: datetime) -> str:
    return moment.astimezone().isoformat(timespec="milliseconds")


@dataclass
class _Session:
    folder: Path
    started: datetime
    active: set[str] = field(default_factory=set)  # recordings running now
    obs_runs: list[dict[str, Any]] = field(default_factory=list)
    screens: dict[str, str] = field(default_factory=dict)  # a screen share's name -> its guest's
    ended: datetime | None = None


class SessionFolders:
    """Opens, tracks and closes sessions; runs on the engine's loop (not thread-safe)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._session: _Session | None = None
        self._obs_recording = False
        self.last_folder: Path | None = None

    @property
    def current(self) -> Path | None:
        return self._session.folder if self._session else None

    def folder_for(self, out_dir: Path) -> Path:
        """The folder new recordings go to; opens a session when none is open.
        Raises OSError when the folder cannot be made (the caller reports it)."""
        if self._session is None:
            self._open(Path(out_dir))
        assert self._session is not None
        return self._session.folder

    def _open(self, out_dir: Path) -> None:
        started = self._now()
        base = started.astimezone().strftime(FOLDER_FORMAT)
        out_dir = out_dir.expanduser().resolve()
        for attempt in range(1, 100):
            folder = out_dir / (base if attempt == 1 else f"{base} ({attempt})")
            try:
                folder.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free session folder name for {base} in {out_dir}")
        self._session = _Session(folder=folder, started=started)
        self.last_folder = folder
        log.info("session folder: %s", folder, extra={"user": True})
        self.write_manifest()

    def recording_started(self, key: str) -> None:
        if self._session is not None:
            self._session.active.add(key)
            self.write_manifest()

    def link_screen(self, screen: str, owner: str) -> None:
        """The recordings of `screen` are the screen share of guest `owner`."""
        if self._session is not None:
            self._session.screens[screen] = owner

    def recording_ended(self, key: str) -> None:
        session = self._session
        if session is None or key not in session.active:
            return
        session.active.discard(key)
        self._close_if_idle()

    def is_active(self, key: str) -> bool:
        return self._session is not None and key in self._session.active

    def obs_recording(self, active: bool, out_dir: Path, path: str | None = None) -> None:
        """OBS's own recording started or stopped (`path`: its file, when known)."""
        now = self._now()
        if active and not self._obs_recording:
            self._obs_recording = True
            self.folder_for(out_dir)
            assert self._session is not None
            self._session.obs_runs.append({"started": now, "ended": None, "file": path})
        elif not active and self._obs_recording:
            self._obs_recording = False
            if self._session is not None and self._session.obs_runs:
                run = self._session.obs_runs[-1]
                run["ended"] = now
                run["file"] = path or run["file"]
            self._close_if_idle()
        self.write_manifest()

    def _close_if_idle(self) -> None:
        session = self._session
        if session is None:
            return
        if session.active or self._obs_recording:
            self.write_manifest()
            return
        session.ended = self._now()
        self.write_manifest()
        log.info("session ended: %s", session.folder, extra={"user": True})
        self._session = None

    def write_manifest(self) -> None:
        session = self._session
        if session is None:
            return
        try:
            text = json.dumps(self._manifest(session), indent=2) + "\n"
            part = session.folder / (MANIFEST + ".part")
            part.write_text(text, encoding="utf-8")
            os.replace(part, session.folder / MANIFEST)
        except OSError as exc:  # the recordings themselves go on
            log.error("cannot write %s in %s: %s", MANIFEST, session.folder, exc)

    def _offset(self, session: _Session, moment: datetime | None) -> float | None:
        return None if moment is None else round((moment - session.started).total_seconds(), 3)

    def _manifest(self, session: _Session) -> dict[str, Any]:
        files = []
        for media in sorted(p for p in session.folder.iterdir() if p.suffix in MEDIA_SUFFIXES):
            try:
                side = json.loads(sidecar_path(media).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not one of ours, or its recording has not written yet
            start = parse_time(side.get("start_utc"))
            end = parse_time(side.get("end_utc"))
            entry = {
                "file": media.name, "guest": side.get("guest"), "status": side.get("status"),
                "start_seconds": self._offset(session, start),
                # The file's time 0 by its media's timing (start_seconds: when it was opened).
                "media_start_seconds": self._offset(session, parse_time(side.get("media_start_utc"))),
                "end_seconds": self._offset(session, end),
                "sidecar": sidecar_path(media).name,
            }
            owner = session.screens.get(str(side.get("guest")))
            if owner is not None:
                entry["screen_of"] = owner  # the guest whose screen share this is
            files.append(entry)
        files.sort(key=lambda f: (f["start_seconds"] is None, f["start_seconds"] or 0.0, f["file"]))
        return {
            "session": session.folder.name,
            "started": _iso_local(session.started),
            "ended": _iso_local(session.ended) if session.ended else None,
            "files": files,
            "obs_recordings": [
                {"file": run["file"], "start_seconds": self._offset(session, run["started"]),
                 "end_seconds": self._offset(session, run["ended"])}
                for run in session.obs_runs
            ],
        }
