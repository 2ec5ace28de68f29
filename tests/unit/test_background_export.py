"""The export a button starts (OBS's panel, the control room): the last session exported on
a thread of its own, its progress as lines, one export at a time, and refusals in words
for whoever pressed the button. Sessions are made by the export benchmark's generator
(tests/support/synthetic_session.py): real WebM files, manifest and sidecars."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from guestrec.export.background_export import BackgroundExport, ExportBusy, newest_session
from guestrec.export.errors import ExportError
from support.synthetic_session import GuestSpec, make_session


def wait_done(exports: BackgroundExport, timeout: float = 60) -> dict:
    assert exports.wait(timeout), "the export did not end"
    status = exports.status()
    assert status["state"] != "running", status
    return status


def test_the_last_session_is_exported_in_the_background_with_its_progress(tmp_path: Path) -> None:
    older = make_session(tmp_path, [GuestSpec("Old", 0.5, 2)], stamp="2026-01-01 09-00-00")
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 4), GuestSpec("Bob", 1.2, 3, video=False)],
                          stamp="2026-01-01 10-00-00")
    (tmp_path / "Session 2026-01-01 10-00-00 (2)").mkdir()  # a folder without a manifest: not a session
    (tmp_path / "notes").mkdir()
    assert newest_session(tmp_path) == folder

    lines: list[tuple[str, str]] = []
    gate = threading.Event()

    def on_line(line: str) -> None:
        lines.append((threading.current_thread().name, line))
        gate.wait(10)  # the export waits here until the second press was tried

    exports = BackgroundExport()
    began = time.monotonic()
    job = exports.start_last(None, tmp_path, on_line=on_line)
    returned_after = time.monotonic() - began
    assert job.folder == folder and job.session == folder.name
    # A second press while it runs is refused and says which export runs.
    busy = r"an export is already running \(Session 2026-01-01 10-00-00, started at "
    with pytest.raises(ExportBusy, match=busy):
        exports.start_last(older, tmp_path)
    with pytest.raises(ExportBusy):  # also when there would be nothing to export
        exports.start_last(None, tmp_path / "empty")
    assert exports.status()["state"] == "running"
    gate.set()
    status = wait_done(exports)

    assert returned_after < 0.5, returned_after  # the caller (OBS's UI thread) never waits
    assert status["state"] == "done" and status["error"] is None, status
    assert lines[0][0] == "guestrec-export" and "MainThread" not in {name for name, _ in lines}
    said = [line for _, line in lines]
    assert said[0] == f"export of {folder.name} started (timelines, stems): {folder}"
    for wanted in ("export: session.otio written", "export: session.kdenlive written",
                   "export: stem Ann.wav written", "export: stem Bob.wav written"):
        assert wanted in said, said
    assert said[-1].startswith(f"export of {folder.name} done: ") and str(folder / "export") in said[-1]
    assert status["lines"][-1] == said[-1] and status["export_folder"] == str(folder / "export")
    written = sorted(p.name for p in (folder / "export").iterdir())
    assert {"session.otio", "session.fcpxml", "session.xml", "session.kdenlive", "session.edl",
            "README.txt", "stems"} <= set(written), written
    files = [p for p in (folder / "export").rglob("*") if p.is_file()]
    assert status["files"] == len(files) - 1  # all but the export's marker
    assert not (older / "export").exists()

    # Done, a new press starts again (here the session this run recorded, with proxies).
    exports.start_last(older, tmp_path, proxies=True)
    status = wait_done(exports)
    assert status["state"] == "done" and status["proxies"] and (older / "export" / "proxies").is_dir()
    assert any("proxy 1/1" in line for line in status["lines"]), status["lines"]


def test_a_session_still_recording_says_which_files_and_what_to_do(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3), GuestSpec("Bob", 1.0, 3)], ended=False)
    side = folder / "Ann 2026-01-01 10-00-00.json"
    side.write_text(json.dumps({**json.loads(side.read_text()), "status": "recording"}))
    manifest = json.loads((folder / "session.json").read_text())
    manifest["obs_recordings"] = [{"file": "/nowhere/obs.mkv", "start_seconds": 0.0, "end_seconds": None}]
    (folder / "session.json").write_text(json.dumps(manifest))
    lines: list[str] = []
    exports = BackgroundExport()
    exports.start_last(folder, tmp_path, on_line=lines.append)
    status = wait_done(exports)
    assert status["state"] == "failed"
    assert status["error"] == (
        "the session is still recording (Ann 2026-01-01 10-00-00.webm, OBS's own recording). Stop every "
        "guest recording (and OBS's own recording if it belongs to the session), then export again "
        "once the session has ended.")
    assert lines[-1] == f"export of {folder.name} failed: {status['error']}"
    assert not (folder / "export").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".export")]


def test_a_session_whose_first_recording_just_began_is_still_recording(tmp_path: Path) -> None:
    """Open, its first recording begun but nothing written yet (not even a sidecar)."""
    folder = tmp_path / "Session 2026-01-01 10-00-00"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps({
        "session": folder.name, "started": "2026-01-01T10:00:00.000+00:00", "ended": None,
        "files": [], "obs_recordings": []}))
    exports = BackgroundExport()
    exports.start_last(None, tmp_path)
    status = wait_done(exports)
    assert status["state"] == "failed" and status["error"].startswith(
        "the session is still recording. Stop every guest recording"), status


def test_missing_files_are_named_with_where_to_put_them(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3), GuestSpec("Bob", 1.0, 3, video=False)])
    (folder / "Bob 2026-01-01 10-00-00.webm").unlink()
    exports = BackgroundExport()
    exports.start_last(None, tmp_path)
    status = wait_done(exports)
    assert status["state"] == "failed"
    assert status["error"] == (
        f"file of the session missing from {folder}: Bob 2026-01-01 10-00-00.webm. Put it back, or "
        f'export without it from a terminal: python3 -m guestrec export --skip-missing "{folder}"')


def test_no_session_yet_is_said_before_any_thread_starts(tmp_path: Path) -> None:
    exports = BackgroundExport()
    with pytest.raises(ExportError, match=r"there is no recorded session in .*nothing yet"):
        exports.start_last(None, tmp_path / "nothing yet")
    assert exports.status() == {"state": "idle"}


def test_closing_stops_a_running_export_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 30)])
    started = threading.Event()

    def on_line(line: str) -> None:
        if "started" in line:
            started.set()
            time.sleep(0.3)  # the studio closes while the export is under way

    exports = BackgroundExport()
    exports.start_last(folder, tmp_path, on_line=on_line)
    assert started.wait(10)
    assert exports.close(timeout=20)
    status = exports.status()
    assert status["state"] == "stopped", status
    assert status["lines"][-1] == (f"export of {folder.name} stopped: the studio closed while it ran; "
                                   "nothing was written")
    assert not (folder / "export").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".export")]
