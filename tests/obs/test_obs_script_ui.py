"""What a user sees of the script in a real OBS: its description, its properties, and each
guest source's own properties (live status and the director's controls), the layout of
guests in the scene, and the session folder on disk."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from support.obs_harness import GREEN_YUV, RED_YUV, BackgroundGuest, ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
PROBE = Path(__file__).resolve().parent.parent / "support" / "obs_script_probe.py"


def dump(h: ObsHarness) -> dict:
    """What the script's and the guest sources' property dialogs show now (see the probe)."""
    target = h.workdir / "probe-dump.json"
    target.unlink(missing_ok=True)
    h.ws.trigger_hotkey_by_name("guestrec_probe_dump")
    return wait_until(lambda: target.exists() and json.loads(target.read_text()), 10, 0.2,
                      "the probe's dump")


TIME_SIZE = re.compile(r"(\d+):(\d\d):(\d\d), ([\d.]+) (B|KB|MB|GB)")
UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}


def time_and_size(text: str) -> tuple[int, float]:
    """(seconds, bytes) from the first "0:00:05, 1.2 MB" in a status text."""
    match = TIME_SIZE.search(text)
    assert match, text
    h, m, sec, size, unit = match.groups()
    return int(h) * 3600 + int(m) * 60 + int(sec), float(size) * UNITS[unit]


def apply_and_dump(h: ObsHarness, request: dict) -> dict:
    (h.workdir / "apply.json").write_text(json.dumps(request))
    return dump(h)


def received(guest: BackgroundGuest, kind: str, **fields):
    return next((m for m in list(guest.client.messages) if m.get("type") == kind
                 and all(m.get(k) == v for k, v in fields.items())), None)


def test_live_status_controls_layout_and_session_folder(tmp_path: Path) -> None:
    """One OBS run, as a user goes through a show: the panel and the guest sources show
    live figures, the director's controls reach the guest (also through obs-websocket),
    guests sit side by side, and the session folder's manifest lists what was recorded."""
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    # Settings as an older version saved them: moved to the new ones at load.
    old_style = {"auto_record": True, "follow_obs_recording": False, "bitrate_kbps": 900}
    h = ObsHarness(tmp_path, old_style, script=PROBE,
                   extra_env={"GUESTREC_PROBE_APPLY": str(tmp_path / "apply.json"),
                              "GUESTREC_PROBE_DUMP": str(tmp_path / "probe-dump.json")})
    h.setup.script_settings.pop("video_kbps")
    ivy = kay = None
    with h:
        h.wait_for_server()
        link = f"{h.base_url}/?token={h.token}"
        first = dump(h)
        assert link in first["description"]
        script, settings = first["script"], first["settings"]
        assert settings["start_recording"] == "join" and settings["video_kbps"] == 900
        assert not {"bitrate_kbps", "auto_record", "follow_obs_recording"} & set(settings)
        assert settings["guest_link"] == link and script["guest_link"] == "Guest link"
        control = f"{h.base_url}/control#key={h.operator_key}"
        assert settings["control_link"] == control and script["control_link"] == "Control room"
        assert control in first["description"] and "Custom Browser Docks" in script["control_help"]
        assert script["operator_key"] == "Operator key" and script["invite_only"] == "Invites only"
        assert "No guests yet." in script["status_info"]
        # Video mode: the video bitrate and codec are shown, the Opus bitrate is not.
        assert script["video_kbps"] == "Video bitrate" and script["codec"] == "Video codec"
        assert script["audio_kbps"] is None
        assert script["start_recording"] == "Start"
        for name in ("start_all", "stop_all", "refresh", "open_folder", "make_link", "out_dir",
                     "ice_servers", "turn_secret", "cert_file", "key_file", "vdo_link", "vdo_room",
                     "vdo_password", "vdo_server", "vdo_streams", "vdo_director", "sfu", "sfu_room",
                     "sfu_secret"):
            assert script.get(name), name

        ivy = BackgroundGuest(h.whip_url("Ivy"), h.token, RED_YUV).join()
        wait_until(lambda: (h.guests().get("Ivy") or {}).get("recording") or None, 20, 0.1,
                   "Ivy's recording")
        h.ws.start_record()  # OBS's own recording joins the session
        wait_until(lambda: h.ws.get_record_status().output_active or None, 15, 0.1, "OBS to record")

        def ivy_live():
            d = dump(h)
            return d if "Receiving 320x240 at" in d["sources"].get("Ivy", {}).get("status", "") else None

        before = wait_until(ivy_live, 20, 1.0, "Ivy's live figures in her source")
        time.sleep(3)
        after = dump(h)
        # The panel and the guest source both move on while Ivy records.
        for read in (lambda d: d["script"]["status_info"], lambda d: d["sources"]["Ivy"]["status"]):
            (t0, b0), (t1, b1) = time_and_size(read(before)), time_and_size(read(after))
            assert t1 >= t0 + 2 and b1 > b0, (read(before), read(after))
        panel = after["script"]["status_info"]
        assert "1 recording, 0 live, not recording" in panel and "Ivy: recording " in panel
        assert re.search(r"320x240 at \d+\.\d fps, \d+ kbps, loss \d+\.\d%, direct", panel), panel
        source = after["sources"]["Ivy"]
        assert source["status"].startswith("Ivy: RECORDING") and "File: " in source["status"]
        assert source["settings"]["guest_link"] == link + "&name=Ivy"
        assert source["settings"]["record"] is True
        for name in ("hang_up", "ask_mute", "ask_unmute", "send_message", "message", "video_kbps"):
            assert source.get(name), name
        # What the user needs reaches the Script Log (print() from the script).
        lines = h.log_text().splitlines()
        for wanted in ("[guestrec] guest 'Ivy' joined", "[guestrec] session folder: "):
            assert any(wanted in line for line in lines), (wanted, h.guestrec_log_lines()[-15:])

        # A second guest lands beside the first, not on top of it.
        kay = BackgroundGuest(h.whip_url("Kay"), h.token, GREEN_YUV).join()
        wait_until(lambda: (h.guests().get("Kay") or {}).get("recording") or None, 20, 0.1,
                   "Kay's recording")
        ids = {name: h.ws.get_scene_item_id("Scene", name).scene_item_id for name in ("Ivy", "Kay")}
        spots = {name: h.ws.get_scene_item_transform("Scene", i).scene_item_transform
                 for name, i in ids.items()}
        assert [spots[n]["positionX"] for n in ("Ivy", "Kay")] == [0.0, 320.0], spots
        for spot in spots.values():
            assert spot["positionY"] == 0.0 and spot["boundsWidth"] == 320.0
            assert spot["boundsHeight"] == 360.0, spot

        # The director's controls, through obs-websocket as a Stream Deck would use them
        # (enabled once the script's status, refreshed every second, has Kay connected).
        wait_until(lambda: dump(h)["sources"]["Kay"]["status"].startswith("Kay: RECORDING") or None,
                   10, 0.1, "Kay's source to show her connected")
        h.ws.set_input_settings("Kay", {"message": "Hello Kay"}, True)
        h.ws.press_input_properties_button("Kay", "send_message")
        wait_until(lambda: received(kay, "message", text="Hello Kay"), 10, 0.2, "Kay's message")
        h.ws.press_input_properties_button("Kay", "ask_mute")
        wait_until(lambda: received(kay, "mute", mute=True), 10, 0.2, "the mute request")
        h.ws.set_input_settings("Kay", {"video_kbps": 700}, True)
        wait_until(lambda: received(kay, "bitrate", kbps=700), 10, 0.2, "the bitrate request")
        assert h.guests()["Kay"]["video_kbps"] == 700
        kay_source = wait_until(lambda: (lambda s: s if s.get("notice") else None)(
            dump(h)["sources"]["Kay"]), 10, 0.1, "Kay's notice")
        assert kay_source["notice"] == "Video bitrate set to 700 kbps."
        # The per-guest record toggle: off, then on again into a new file.
        first_file = h.guests()["Kay"]["file"]
        h.ws.set_input_settings("Kay", {"record": False}, True)
        # Looked at every 0.5 s, as an operator's second click would come: a toggle back on
        # within a few tenths of a second of the stop was seen to start no new file.
        wait_until(lambda: not h.guests()["Kay"]["recording"] or None, 15, 0.5, "Kay's stop")
        h.ws.set_input_settings("Kay", {"record": True}, True)
        wait_until(lambda: (lambda s: s["recording"] and s["file"] != first_file and s)(
            h.guests()["Kay"]) or None, 15, 0.1, "Kay's second recording")
        time.sleep(2)
        h.ws.press_input_properties_button("Kay", "hang_up")
        wait_until(lambda: "Kay" not in h.guests() or None, 15, 0.1, "Kay hung up")
        assert received(kay, "hangup")
        # A departed guest's picture is hidden; the source stays for a return.
        wait_until(lambda: not h.ws.get_scene_item_enabled("Scene", ids["Kay"]).scene_item_enabled
                   or None, 10, 0.1, "Kay's item hidden")
        assert "Kay" in h.inputs_of_our_kind()

        h.ws.stop_record()
        wait_until(lambda: not h.ws.get_record_status().output_active or None, 15, 0.1, "OBS to stop")

        # Settings: the Opus bitrate is corrected where the user sees it; fields follow the mode.
        opus = apply_and_dump(h, {"settings": {"record_mode": "opus", "audio_kbps": 6000}})
        assert opus["settings"]["audio_kbps"] == 510
        assert opus["script"]["audio_kbps"] == "Opus bitrate"
        assert opus["script"]["video_kbps"] is None and opus["script"]["codec"] is None
        # Make guest link makes an invite: its own token, the guest named by it.
        named = apply_and_dump(h, {"settings": {"link_name": "Eve Two"}, "press": "make_link"})
        invite = named["settings"]["guest_link"]
        assert invite.startswith(f"{h.base_url}/?token=") and invite.endswith("&name=Eve%20Two")
        assert h.token not in invite and "Invite for Eve Two" in named["script"]["notice"]
        eve = BackgroundGuest(h.whip_url("Somebody"), invite.split("token=")[1].split("&")[0],
                              GREEN_YUV).join()
        wait_until(lambda: "Eve Two" in h.guests() or None, 20, 0.1, "Eve Two through her invite")
        eve.leave()

        ivy.leave()
        ivy = None
        sessions = wait_until(lambda: (lambda found: found if len(found) == 1 and json.loads(
            (found[0] / "session.json").read_text())["ended"] else None)(
            sorted(h.out_dir.glob("Session *"))), 20, 0.1, "the session to end")
    for guest in (ivy, kay):
        if guest is not None:
            guest.drop()  # OBS is gone: no one to say goodbye to
    check_session(sessions[0], h)


def check_session(folder: Path, h: ObsHarness) -> None:
    """session.json lists every file of the session with its guest and its start on the
    session's timeline (checked against the recordings' own sidecars), and OBS's file."""
    from datetime import datetime

    manifest = json.loads((folder / "session.json").read_text())
    started = datetime.fromisoformat(manifest["started"])
    media = sorted(p.name for p in folder.iterdir() if p.suffix in (".webm", ".mkv", ".mka"))
    assert sorted(f["file"] for f in manifest["files"]) == media
    guests = [f["guest"] for f in manifest["files"]]
    assert guests.count("Ivy") == 1 and guests.count("Kay") == 2, manifest
    for entry in manifest["files"]:
        assert entry["file"].startswith(entry["guest"] + " ")
        side = json.loads((folder / entry["sidecar"]).read_text())
        offset = (datetime.fromisoformat(side["start_utc"]) - started).total_seconds()
        assert abs(entry["start_seconds"] - offset) < 0.01 and entry["status"] == "complete"
        assert entry["end_seconds"] > entry["start_seconds"]
    starts = [f["start_seconds"] for f in manifest["files"]]
    assert starts == sorted(starts) and 0 <= starts[0] < 5  # Ivy first, then Kay twice
    assert [f["guest"] for f in manifest["files"]] == ["Ivy", "Kay", "Kay"]
    (obs_run,) = manifest["obs_recordings"]
    assert Path(obs_run["file"]).exists() and Path(obs_run["file"]).parent == h.obs_record_dir.resolve()
    # OBS started recording after Ivy's recording began (her file's first media can come
    # a moment later: it waits for the guest's first sender reports) and before Kay came.
    assert 0 <= obs_run["start_seconds"] < starts[1] < obs_run["end_seconds"]


def test_a_vdo_ninja_room_set_in_the_script_is_joined_and_shown(tmp_path: Path) -> None:
    """A room set in the script's properties starts the VDO.Ninja ingest; its handshake
    state shows in the script's status (here a server that is not there: reconnecting)."""
    from obs_launcher.obs_config import free_port

    reason = obs_available()
    if reason:
        pytest.skip(reason)
    port = free_port()  # nothing listens there
    settings = {"vdo_room": "Show Room", "vdo_server": f"127.0.0.1:{port}", "vdo_password": "false"}
    with ObsHarness(tmp_path, settings, script=PROBE,
                    extra_env={"GUESTREC_PROBE_DUMP": str(tmp_path / "probe-dump.json")}) as h:
        h.wait_for_server()

        def room_shown():
            status = dump(h)["script"]["status_info"]
            return status if "VDO.Ninja room Show_Room: reconnecting (hosted)" in status else None

        status = wait_until(room_shown, 20, 1.0, "the room's state in the script's status")
        assert "cannot reach the handshake server" in status


def test_missing_dependencies_are_named_in_the_log(tmp_path: Path) -> None:
    """A copy of the script without its dependencies beside it: OBS keeps running and the
    log says which module is missing and how to install it."""
    import shutil

    reason = obs_available()
    if reason:
        pytest.skip(reason)
    root = Path(__file__).resolve().parents[2]
    bare = tmp_path / "bare"
    shutil.copytree(root / "lib", bare / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(root / "obs_record_plugin.py", bare / "obs_record_plugin.py")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "GUESTREC_SITE_PACKAGES": ""}
    with ObsHarness(tmp_path / "obs", script=bare / "obs_record_plugin.py", extra_env=env) as h:
        line = wait_until(lambda: next((text for text in h.log_text().splitlines()
                                        if "cannot import the Python module" in text), None),
                          20, 0.1, "the error line")
        assert "'av'" in line and "run-obs.sh --install-only" in line and "pip install --target" in line
        assert h.inputs_of_our_kind() == []  # nothing half-started
