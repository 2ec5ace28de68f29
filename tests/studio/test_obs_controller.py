"""The script's controller without OBS: options -> engine, worker and status threads,
driven with a real engine and real aiortc guests over WHIP."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest

from guestrec.common.plan import RecordSettingsError
from guestrec.obs_bridge.controller import (
    GuestRecorderController,
    ScriptOptions,
    engine_settings,
    record_value,
)
from obs_launcher.obs_config import free_port
from support.obs_harness import GREEN_YUV, BackgroundGuest, wait_until


def test_record_modes_map_to_the_record_value() -> None:
    assert record_value("video", 6000) == (6000, None)
    assert record_value("pcm", 6000) == (0, None)
    assert record_value("opus", 6000, 128) == (-128, None)
    value, warning = record_value("opus", 6000, 6000)
    assert value == -510 and "510" in warning  # clamped to what Opus can do
    with pytest.raises(RecordSettingsError):
        record_value("video", 0)
    with pytest.raises(RecordSettingsError):
        record_value("loud", 100)


def test_engine_settings_from_options(tmp_path: Path) -> None:
    opts = ScriptOptions(record_mode="opus", audio_kbps=96, codec="VP9", out_dir="",
                         start_recording="obs", port=9001, token="token-of-the-studio")
    settings, warnings = engine_settings(opts, tmp_path)
    assert settings.out_dir == tmp_path and settings.record == -96 and settings.codec == "vp9"
    assert settings.port == 9001 and settings.token == "token-of-the-studio" and not settings.auto_record
    assert warnings == []
    # While OBS records, "follow" means guests who join are recorded at once.
    assert engine_settings(opts, tmp_path, obs_recording=True)[0].auto_record
    with pytest.raises(RecordSettingsError):
        engine_settings(ScriptOptions(codec="theora"), tmp_path)
    with pytest.raises(RecordSettingsError):
        engine_settings(ScriptOptions(start_recording="sometimes"), tmp_path)
    assert not engine_settings(ScriptOptions(start_recording="manual"), tmp_path)[0].auto_record


def test_a_vdo_ninja_room_from_options(tmp_path: Path) -> None:
    from guestrec.ingest.vdoninja import VdoSettings, VdoSettingsError

    assert engine_settings(ScriptOptions(), tmp_path)[0].vdo is None
    opts = ScriptOptions(vdo_room="Show", vdo_password="a b", vdo_streams="Cam1, Cam2", vdo_director=True)
    assert engine_settings(opts, tmp_path)[0].vdo == VdoSettings(
        room="Show", password="a b", streams=("Cam1", "Cam2"), director=True)
    # A pasted link, its server overridden by the field beside it.
    opts = ScriptOptions(vdo_link="https://vdo.ninja/?room=R&wss=h:1&password=false", vdo_server="h:2")
    vdo = engine_settings(opts, tmp_path)[0].vdo
    assert (vdo.room, vdo.password, vdo.server, vdo.dialect) == ("R", False, "wss://h:2", "relay")
    with pytest.raises(VdoSettingsError, match="names no room"):
        engine_settings(ScriptOptions(vdo_link="https://vdo.ninja/?push=x"), tmp_path)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def controller(tmp_path: Path):
    logs: list[tuple[str, str]] = []
    changes: list[list[str]] = []
    opts = ScriptOptions(out_dir=str(tmp_path / "rec"), start_recording="obs",
                         port=free_port(), token="token-of-the-studio", video_kbps=800)
    ctl = GuestRecorderController(
        opts, default_out_dir=lambda: tmp_path / "default", log=lambda lvl, msg: logs.append((lvl, msg)),
        on_status_change=changes.append)
    ctl.logs, ctl.changes = logs, changes  # type: ignore[attr-defined]
    before = {t.name for t in threading.enumerate()}
    ctl.start()
    wait_until(lambda: ctl.running or None, 20, 0.1, "the engine")
    # The engine's thread runs before its server listens: wait for the server itself.
    wait_until(lambda: _get(f"http://127.0.0.1:{opts.port}/") == 200 or None, 20, 0.1, "the server")
    yield ctl
    started = time.monotonic()
    ctl.stop(timeout=5)
    assert time.monotonic() - started < 6
    leftover = {t.name for t in threading.enumerate()} - before
    assert not {n for n in leftover if n.startswith("guestrec")}, leftover


def test_controller_runs_guests_and_recordings(controller: GuestRecorderController, tmp_path: Path) -> None:
    ctl = controller
    port = ctl.options.port
    assert ctl.guest_link == f"http://127.0.0.1:{port}/?token=token-of-the-studio"
    guest = BackgroundGuest(f"http://127.0.0.1:{port}/whip/Hana", "token-of-the-studio", GREEN_YUV).join()
    try:
        wait_until(lambda: (ctl.guest_status("Hana") or {}).get("connected") or None, 15, 0.2,
                   "Hana in the status cache")
        assert not ctl.guest_status("Hana")["recording"]
        assert any("Hana" in names for names in ctl.changes)  # property dialogs are told

        ctl.obs_recording_changed(True)  # OBS started recording; "follow" is on
        wait_until(lambda: ctl.guest_status("Hana")["recording"] or None, 15, 0.2, "recording")
        file = Path(ctl.guest_status("Hana")["file"])
        assert file.parent.parent == (tmp_path / "rec").resolve()  # in the session folder
        ctl.obs_recording_changed(False)
        wait_until(lambda: not ctl.guest_status("Hana")["recording"] or None, 15, 0.2, "the stop")

        ctl.set_recording("Hana", True)  # the guest source's own toggle
        assert ctl.guest_status("Hana")["recording"]  # shown at once, before the engine confirms
        wait_until(lambda: (ctl.guest_status("Hana")["recording"]
                            and ctl.guest_status("Hana")["file"] != str(file)) or None,
                   15, 0.2, "a new recording")
        ctl.stop_all()
        wait_until(lambda: not ctl.guest_status("Hana")["recording"] or None, 15, 0.2, "stop all")

        # Live reception figures (no OBS sink here: the size comes from VP8 key frames).
        live = wait_until(lambda: (lambda s: s if s.get("kbps") and s.get("fps") else None)(
            ctl.guest_status("Hana")), 10, 0.3, "live figures")
        assert live["resolution"] == "320x240" and 5 < live["fps"] < 25 and live["kbps"] > 10
        assert live["loss_percent"] == 0.0 and live["ice_pair"] == "direct"

        def received(kind: str, **fields):
            return next((m for m in guest.client.messages if m.get("type") == kind
                         and all(m.get(k) == v for k, v in fields.items())), None)

        # Director requests reach the guest over its control channel; each says how it went.
        ctl.control("Hana", "message", "  Ready in  ten ")
        wait_until(lambda: received("message", text="Ready in ten"), 10, 0.2, "the message")
        wait_until(lambda: ctl.notice("Hana") == "Message sent." or None, 5, 0.1, "the notice")
        ctl.control("Hana", "mute")
        wait_until(lambda: received("mute", mute=True), 10, 0.2, "the mute request")
        ctl.control("Hana", "bitrate", 50)  # below what is sane: clamped
        wait_until(lambda: received("bitrate", kbps=100), 10, 0.2, "the bitrate request")
        wait_until(lambda: ctl.guest_status("Hana")["video_kbps"] == 100 or None, 5, 0.2, "new plan")
        ctl.control("Nobody", "mute")
        wait_until(lambda: ctl.notice("Nobody").startswith("Not done: no guest named") or None,
                   5, 0.1, "the refusal")
        ctl.control("Hana", "hang_up")
        wait_until(lambda: ctl.guest_status("Hana") is None or None, 15, 0.2, "Hana hung up")
        assert received("hangup")
        assert ctl.notice("Hana") == "Hung up."
        assert any("guest 'Hana' joined" in m for _, m in ctl.logs)
        assert any("guest 'Hana' left" in m for _, m in ctl.logs)
    finally:
        guest.leave()


def test_server_settings_restart_the_server_after_typing_stops(controller: GuestRecorderController) -> None:
    ctl = controller
    old_port = ctl.options.port
    new_port = free_port()
    # Keystrokes in the token field: only the last value is applied, once.
    for token in ("n", "ne", "new", "newtoken-newtoken"):
        ctl.update_options(ScriptOptions(**{**ctl.options.__dict__, "token": token, "port": new_port}))
        time.sleep(0.1)
    ice_url = f"http://127.0.0.1:{new_port}/api/ice-servers?token=newtoken-newtoken"
    wait_until(lambda: _get(ice_url) == 200 or None, 15, 0.2, "the server on the new port")
    assert ctl.guest_link == f"http://127.0.0.1:{new_port}/?token=newtoken-newtoken"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{old_port}/", timeout=2)
    restarts = [m for _, m in ctl.logs if "server restarted" in m]
    assert len(restarts) == 1, restarts


def test_port_in_use_is_reported_and_a_new_port_recovers(tmp_path: Path) -> None:
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    logs: list[tuple[str, str]] = []
    opts = ScriptOptions(out_dir=str(tmp_path), port=busy, token="token-of-the-studio")
    ctl = GuestRecorderController(opts, default_out_dir=lambda: tmp_path,
                                  log=lambda lvl, msg: logs.append((lvl, msg)))
    try:
        ctl.start()
        wait_until(lambda: ctl.last_error or None, 15, 0.1, "the error")
        assert str(busy) in ctl.last_error and not ctl.running
        assert any(level == "error" and str(busy) in msg for level, msg in logs)
        ctl.update_options(
            ScriptOptions(out_dir=str(tmp_path), port=free_port(), token="token-of-the-studio"))
        wait_until(lambda: (ctl.running and ctl.last_error == "") or None, 15, 0.1,
                   "a start on the free port")
    finally:
        ctl.stop()
        blocker.close()


def test_a_dropped_guest_shows_as_reconnecting_until_it_is_ended(
        controller: GuestRecorderController) -> None:
    """A guest whose connection drops is not "left": its source and take wait for it, and the
    script and its source say so, until the studio ends the wait."""
    from guestrec.obs_bridge.status import guest_status_detail, guest_status_text

    ctl = controller
    port = ctl.options.port
    guest = BackgroundGuest(f"http://127.0.0.1:{port}/whip/Ida", "token-of-the-studio", GREEN_YUV).join()
    wait_until(lambda: (ctl.guest_status("Ida") or {}).get("connected") or None, 15, 0.2, "Ida")
    guest.drop()  # no DELETE: the studio notices the lost connection itself
    status = wait_until(lambda: (lambda s: s if s and s.get("returning") else None)(
        ctl.guest_status("Ida")), 30, 0.2, "Ida awaited")
    assert guest_status_text(status).startswith("reconnecting (up to 60 s")
    assert guest_status_detail(status).startswith("Reconnecting: the connection dropped")
    assert any(m == "guest 'Ida' dropped; waiting for it to reconnect" for _, m in ctl.logs), ctl.logs
    assert "Ida" in {s["name"] for s in ctl.statuses()}
    ctl.control("Ida", "hang_up")  # the studio stops waiting
    wait_until(lambda: ctl.guest_status("Ida") is None or None, 15, 0.2, "the wait ended")
    assert any(m == "guest 'Ida' left" for _, m in ctl.logs), ctl.logs
