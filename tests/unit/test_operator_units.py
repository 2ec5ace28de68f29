"""The pure parts of the operator's view: settings migration, the guest grid, live rates,
status texts and the session folder (with real files and sidecars)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from guestrec.core.live_stats import LiveStats
from guestrec.core.session_folder import SessionFolders
from guestrec.media.sidecar import write_sidecar
from guestrec.obs_bridge.layout import grid_cells
from guestrec.obs_bridge.script_settings import migrate, shown_settings
from guestrec.obs_bridge.status import guest_status_detail, guest_status_text


def test_old_settings_move_to_the_new_ones() -> None:
    assert migrate({"bitrate_kbps": 900, "auto_record": True}, {}, "video") == {
        "video_kbps": 900, "start_recording": "join"}
    assert migrate({"bitrate_kbps": 96}, {}, "opus") == {"audio_kbps": 96}
    assert migrate({"auto_record": False, "follow_obs_recording": True}, {}, "video") == {
        "start_recording": "obs"}
    assert migrate({"auto_record": False}, {}, "video") == {"start_recording": "manual"}
    # A new setting the user already has is never overwritten.
    assert migrate({"bitrate_kbps": 900, "auto_record": False},
                   {"video_kbps": True, "start_recording": True}, "video") == {}
    assert shown_settings("video") == {"video_kbps": True, "audio_kbps": False, "codec": True}
    assert shown_settings("opus") == {"video_kbps": False, "audio_kbps": True, "codec": False}
    assert not any(shown_settings("pcm").values())


def test_guests_fill_a_grid_that_fits_the_canvas() -> None:
    assert grid_cells(1, 1920, 1080) == [(0, 0, 1920, 1080)]
    assert grid_cells(2, 1920, 1080) == [(0, 0, 960, 1080), (960, 0, 960, 1080)]
    four = grid_cells(4, 1920, 1080)
    assert four[3] == (960, 540, 960, 540)
    for n in range(1, 17):
        cells = grid_cells(n, 1920, 1080)
        assert len(cells) == n
        assert all(x + w <= 1920 and y + h <= 1080 for x, y, w, h in cells)


def test_live_rates_come_from_a_window_of_samples() -> None:
    now = [0.0]
    counters = {"bytes": 0, "video_frames": 0, "packets": 0, "packets_lost": 0}
    stats = LiveStats(lambda: dict(counters), clock=lambda: now[0])
    assert stats.figures() == {}
    for _ in range(8):  # 4 s of 1 Mbit/s, 30 fps, 1% loss
        now[0] += 0.5
        counters["bytes"] += 62_500
        counters["video_frames"] += 15
        counters["packets"] += 99
        counters["packets_lost"] += 1
        figures = stats.figures()
    assert figures == {"kbps": 1000.0, "fps": 30.0, "loss_percent": 1.0}


def test_status_texts_tell_recording_live_and_left_apart() -> None:
    status = {"name": "Ann", "connected": True, "recording": True, "recording_seconds": 83.2,
              "file_bytes": 12_400_000, "file": "/x/Ann.webm", "resolution": "1280x720",
              "fps": 29.97, "kbps": 2540.4, "loss_percent": 0.1, "ice_pair": "direct",
              "page": {"muted": True}}
    assert guest_status_text(status) == (
        "recording 0:01:23, 12.4 MB; 1280x720 at 30.0 fps, 2540 kbps, loss 0.1%, direct")
    detail = guest_status_detail(status)
    assert detail.splitlines()[:2] == ["RECORDING", "Time 0:01:23, 12.4 MB written"]
    assert "The guest has their microphone muted" in detail and "File: /x/Ann.webm" in detail
    assert guest_status_text({**status, "recording": False}).startswith("live, not recording; ")
    assert guest_status_text({**status, "connected": False}) == "left, last file 12.4 MB"
    assert guest_status_text(None) == "left"
    # Dropped and awaited: neither live figures nor "left".
    returning = {"name": "Ann", "connected": False, "returning": True}
    assert guest_status_text(returning).startswith("reconnecting (up to 60 s")
    assert guest_status_detail(returning).splitlines()[0].startswith("Reconnecting")


def test_session_folder_and_manifest(tmp_path: Path) -> None:
    start = datetime(2026, 11, 29, 16, 0, 0, tzinfo=UTC)
    clock = [start]
    sessions = SessionFolders(now=lambda: clock[0])
    folder = sessions.folder_for(tmp_path)
    assert folder.parent == tmp_path.resolve()
    assert folder.name == start.astimezone().strftime("Session %Y-%m-%d %H-%M-%S")  # local time
    sessions.recording_started("a")
    sessions.recording_started("b")
    for guest, offset in (("Ann", 1.5), ("Bob", 4.25)):
        media = folder / f"{guest}_x.webm"
        media.write_bytes(b"\x1a\x45\xdf\xa3")
        write_sidecar(media, {"guest": guest, "status": "complete",
                              "start_utc": (start + timedelta(seconds=offset)).isoformat(),
                              "end_utc": (start + timedelta(seconds=9)).isoformat()}, final=True)
    clock[0] = start + timedelta(seconds=2)
    sessions.obs_recording(True, tmp_path)
    sessions.recording_ended("a")
    assert sessions.current == folder  # b still records
    clock[0] = start + timedelta(seconds=10)
    sessions.obs_recording(False, tmp_path, "/rec/obs.mkv")
    assert sessions.current == folder  # b still records
    sessions.recording_ended("b")
    assert sessions.current is None
    manifest = json.loads((folder / "session.json").read_text())
    assert [(f["guest"], f["start_seconds"], f["end_seconds"]) for f in manifest["files"]] == [
        ("Ann", 1.5, 9.0), ("Bob", 4.25, 9.0)]
    assert manifest["obs_recordings"] == [{"file": "/rec/obs.mkv", "start_seconds": 2.0, "end_seconds": 10.0}]
    assert manifest["ended"] is not None
    # The next recording opens a new session; a name taken in the same second gets " (2)".
    clock[0] = start
    assert sessions.folder_for(tmp_path).name == folder.name + " (2)"
