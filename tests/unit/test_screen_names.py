"""A screen share's name and its place in session.json, without a network: "Ann" shares
"Ann (screen)", the suffix kept whatever the name's length, and the manifest names the
guest whose screen a file holds (read from the files' own sidecars in a real folder)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from guestrec.common.names import MAX_NAME_CHARS
from guestrec.core.screen_shares import SCREEN_SUFFIX, screen_name
from guestrec.core.session_folder import MANIFEST, SessionFolders


def test_screen_names_keep_their_suffix() -> None:
    assert screen_name("Ann") == "Ann (screen)"
    assert screen_name("  Ann 2 ") == "Ann 2 (screen)"
    assert screen_name("Ann\x07\n") == "Ann (screen)"  # what display names drop
    long = screen_name("x" * MAX_NAME_CHARS)
    assert len(long) == MAX_NAME_CHARS and long.endswith(SCREEN_SUFFIX)
    assert screen_name("") == "guest (screen)"


def sidecar(folder: Path, stem: str, guest: str, start: datetime) -> None:
    (folder / f"{stem}.webm").write_bytes(b"\x1a\x45\xdf\xa3")
    (folder / f"{stem}.json").write_text(json.dumps({
        "guest": guest, "status": "complete", "start_utc": start.isoformat(),
        "end_utc": (start + timedelta(seconds=5)).isoformat()}))


def test_the_manifest_names_whose_screen_a_file_is(tmp_path: Path) -> None:
    started = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    folders = SessionFolders(now=lambda: started)
    folder = folders.folder_for(tmp_path)
    folders.recording_started("ann")
    folders.link_screen("Ann (screen)", "Ann")
    sidecar(folder, "Ann 1", "Ann", started + timedelta(seconds=1))
    sidecar(folder, "Ann_screen 1", "Ann (screen)", started + timedelta(seconds=2))
    folders.write_manifest()
    files = {f["guest"]: f for f in json.loads((folder / MANIFEST).read_text())["files"]}
    assert files["Ann (screen)"]["screen_of"] == "Ann"
    assert files["Ann (screen)"]["start_seconds"] == 2.0
    assert "screen_of" not in files["Ann"]
