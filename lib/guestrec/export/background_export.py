"""The export an operator starts with a button (OBS's panel, the control room): the last
session, in a thread of its own, one at a time, its progress as lines.

    exports = BackgroundExport()
    job = exports.start_last(current=roster.session_folder(), out_dir=out,
                             on_line=lambda line: log("info", line))  # ExportBusy while one runs
    exports.status()          # {"state": "running", "session": ..., "lines": [...], ...}
    exports.close(timeout=3)  # at shutdown: the running export stops (nothing half-written)

"The last session" is the one this run recorded (open or last), else the newest session
folder in the output folder. The lines are those `python -m guestrec export` prints, a
proxy's percentages no more than every few seconds, then where the export is or why
there is none, in words for someone who pressed a button (not a command line's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExportError, MissingFiles, StillRecording

if TYPE_CHECKING:
    from .exporter import ExportResult

log = logging.getLogger(__name__)

LineFn = Callable[[str], None]
PERCENT_EVERY_S = 5.0  # a proxy's "...: 40%" lines, at most this often
KEPT_LINES = 200


class ExportBusy(Exception):
    """An export runs already; the message says which."""


class ExportStopped(Exception):
    """The export was asked to stop (the studio is closing)."""


def newest_session(out_dir: Path | str) -> Path | None:
    """The newest session folder in `out_dir` by the time in its name ("Session
    2026-11-29 17-45-03", " (2)" after it for a second one in the same second)."""
    from ..core.session_folder import FOLDER_FORMAT, MANIFEST

    found: list[tuple[datetime, int, Path]] = []
    try:
        candidates = list(Path(out_dir).expanduser().iterdir())
    except OSError:
        return None
    for path in candidates:
        stamp, _, rest = path.name.partition(" (")
        try:
            when = datetime.strptime(stamp, FOLDER_FORMAT)
            number = int(rest.rstrip(")")) if rest else 1
        except ValueError:
            continue
        if (path / MANIFEST).is_file():
            found.append((when, number, path))
    return max(found)[2] if found else None


@dataclass
class ExportJob:
    folder: Path
    proxies: bool
    started: float = field(default_factory=time.time)
    state: str = "running"  # running, done, failed, stopped
    lines: list[str] = field(default_factory=list)
    current: str = ""  # the latest progress, percentages included
    finished: float | None = None
    export_folder: Path | None = None
    files: int = 0
    error: str | None = None

    @property
    def session(self) -> str:
        return self.folder.name

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state, "session": self.session, "folder": str(self.folder),
            "proxies": self.proxies, "started": self.started, "finished": self.finished,
            "current": self.current, "lines": self.lines[-20:],
            "export_folder": str(self.export_folder) if self.export_folder else None,
            "files": self.files, "error": self.error,
        }


class BackgroundExport:
    """One export at a time, on its own thread. Thread-safe."""

    def __init__(self, export: Callable[..., ExportResult] | None = None) -> None:
        """`export`: export_session (PyAV, OpenTimelineIO: imported at the first export)."""
        self._export = export
        self._lock = threading.Lock()
        self._job: ExportJob | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- starting ----------------------------------------------------------------------

    def start_last(self, current: Path | None, out_dir: Path | str, *, proxies: bool = False,
                   on_line: LineFn | None = None) -> ExportJob:
        """Export the session this run recorded (`current`), else the newest in `out_dir`.
        Raises ExportBusy while another runs, ExportError when there is no session."""
        folder = current or newest_session(out_dir)
        if folder is None:
            self._refuse_if_busy()
            raise ExportError(f"there is no recorded session in {out_dir} yet")
        return self.start(folder, proxies=proxies, on_line=on_line)

    def start(self, folder: Path | str, *, proxies: bool = False,
              on_line: LineFn | None = None) -> ExportJob:
        with self._lock:
            self._refuse_if_busy()
            job = ExportJob(Path(folder), proxies)
            self._job = job
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, args=(job, on_line),
                                            name="guestrec-export", daemon=True)
            self._thread.start()
        return job

    def _refuse_if_busy(self) -> None:
        job = self._job
        if job is not None and job.state == "running":
            began = time.strftime("%H:%M:%S", time.localtime(job.started))
            raise ExportBusy(f"an export is already running ({job.session}, started at {began}); "
                             "wait until it says it is done")

    # -- the thread --------------------------------------------------------------------

    def _run(self, job: ExportJob, on_line: LineFn | None) -> None:
        def tell(text: str) -> None:
            if on_line is not None:
                try:
                    on_line(text)
                except Exception:  # a broken log hook must not end the export
                    log.exception("an export progress line could not be shown")

        progress = _Progress(job, self._lock, self._stop, tell)
        what = "timelines, stems" + (" and proxies" if job.proxies else "")
        progress.say(f"export of {job.session} started ({what}): {job.folder}")
        export = self._export
        try:
            if export is None:
                from .exporter import export_session as export
            result = export(job.folder, proxies=job.proxies, progress=progress)
        except ExportStopped:
            reason = "the studio closed while it ran; nothing was written"
            tell(self._finish(job, "stopped", f"export of {job.session} stopped: {reason}", reason))
        except ExportError as exc:
            reason = operator_reason(exc, job.folder)
            tell(self._finish(job, "failed", f"export of {job.session} failed: {reason}", reason))
        except Exception as exc:  # an OSError (a full disk...) or a codec's error
            log.exception("export of %s failed", job.folder)
            reason = f"{type(exc).__name__}: {exc}"
            tell(self._finish(job, "failed", f"export of {job.session} failed: {reason}", reason))
        else:
            line = (f"export of {job.session} done: {len(result.written)} files in {result.folder} "
                    f"({result.seconds:.1f} s); its README.txt says which editor opens which file")
            tell(self._finish(job, "done", line, result=result))

    def _finish(self, job: ExportJob, state: str, line: str, error: str | None = None,
                result: ExportResult | None = None) -> str:
        """The job's end and its last line, seen together by status(); returns the line."""
        with self._lock:
            job.state, job.error, job.finished = state, error, time.time()
            job.current = line
            job.lines.append(line)
            if result is not None:
                job.export_folder, job.files = result.folder, len(result.written)
        return line

    # -- reading and ending --------------------------------------------------------------

    @property
    def running(self) -> bool:
        with self._lock:
            return self._job is not None and self._job.state == "running"

    def status(self) -> dict[str, Any]:
        """The last export (running or finished); {"state": "idle"} before any."""
        with self._lock:
            return self._job.as_dict() if self._job is not None else {"state": "idle"}

    def wait(self, timeout: float) -> bool:
        """Until the running export ends; False when it still runs after `timeout`."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def close(self, timeout: float = 3.0) -> bool:
        """Ask a running export to stop (at its next progress step) and wait for it."""
        self._stop.set()
        return self.wait(timeout)


class _Progress:
    """The exporter's progress callback: each line kept in the job and told, a proxy's
    percentages no more than every PERCENT_EVERY_S (the latest always in `job.current`);
    raises ExportStopped once the export is asked to stop."""

    def __init__(self, job: ExportJob, lock: threading.Lock, stop: threading.Event, tell: LineFn) -> None:
        self._job, self._lock, self._stop, self._tell = job, lock, stop, tell
        self._percent_at = -PERCENT_EVERY_S

    def __call__(self, text: str) -> None:
        if self._stop.is_set():
            raise ExportStopped
        line = f"export: {text}"
        if text.endswith("%") and not text.endswith("100%"):
            now = time.monotonic()
            if now - self._percent_at < PERCENT_EVERY_S:
                with self._lock:
                    self._job.current = line
                return
            self._percent_at = now
        self.say(line)

    def say(self, line: str) -> None:
        with self._lock:
            self._job.current = line
            self._job.lines.append(line)
            del self._job.lines[:-KEPT_LINES]
        self._tell(line)


def operator_reason(exc: ExportError, folder: Path) -> str:
    """Why the export is refused, and what to do, for whoever pressed the button."""
    if isinstance(exc, StillRecording):
        files = f" ({', '.join(exc.busy)})" if exc.busy else ""
        return (f"the session is still recording{files}. Stop every guest "
                "recording (and OBS's own recording if it belongs to the session), then export "
                "again once the session has ended.")
    if isinstance(exc, MissingFiles):
        many = len(exc.missing) > 1
        them = "them" if many else "it"
        return (f"file{'s' if many else ''} of the session missing from {folder}: "
                f"{', '.join(exc.missing)}. Put {them} back, or export without {them} from a terminal: "
                f'python3 -m guestrec export --skip-missing "{folder}"')
    return str(exc)
