"""Writing OBS's configuration for the script (no OBS started here)."""

from __future__ import annotations

import configparser
import json
import sys
from pathlib import Path

from obs_launcher.obs_config import (
    ObsSetup,
    obs_command,
    obs_environment,
    script_settings_from_collection,
    write_all,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "obs_record_plugin.py"


def _ini(path: Path) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    ini.read(path)
    return ini


def test_fresh_config_loads_the_script_and_websocket(tmp_path: Path) -> None:
    setup = ObsSetup(config_home=tmp_path, script_path=SCRIPT, script_settings={"port": 9000},
                     websocket_port=4466, record_dir=tmp_path / "rec", canvas=(640, 360), fps=15)
    write_all(setup)
    g = _ini(tmp_path / "obs-studio" / "global.ini")
    assert g["OBSWebSocket"]["ServerEnabled"] == "true"
    assert g["OBSWebSocket"]["ServerPort"] == "4466"
    assert g["OBSWebSocket"]["AuthRequired"] == "false"
    assert g["OBSWebSocket"]["FirstLoad"] == "false"
    assert g["Basic"]["SceneCollection"] == "GuestRecorder"
    p = _ini(setup.profile_dir / "basic.ini")
    assert p["Video"]["BaseCX"] == "640" and p["Video"]["FPSInt"] == "15"
    assert p["SimpleOutput"]["FilePath"] == str((tmp_path / "rec").resolve())
    data = json.loads(setup.collection_file.read_text())
    [entry] = data["modules"]["scripts-tool"]
    assert entry["path"] == str(SCRIPT.resolve()) and entry["settings"] == {"port": 9000}
    assert data["current_scene"] == "Scene"
    # No spaces around '=': OBS's own ini reader expects key=value.
    assert "ServerPort=4466" in (tmp_path / "obs-studio" / "global.ini").read_text()


def test_running_again_keeps_what_the_user_changed(tmp_path: Path) -> None:
    setup = ObsSetup(config_home=tmp_path, script_path=SCRIPT,
                     script_settings={"port": 8765, "token": "first"})
    write_all(setup)
    # The user adds a source and changes a setting in OBS, which saves the collection.
    data = json.loads(setup.collection_file.read_text())
    data["sources"].append({"id": "guestrec_webrtc_guest", "name": "Alice", "settings": {}})
    data["modules"]["scripts-tool"][0]["settings"]["port"] = 9999
    data["modules"]["auto-scene-switcher"] = {"active": False}
    setup.collection_file.write_text(json.dumps(data))

    again = ObsSetup(config_home=tmp_path, script_path=SCRIPT,
                     script_settings={"port": 8765, "token": "second", "codec": "vp9"},
                     script_overrides={"host": "0.0.0.0"})
    write_all(again)
    data = json.loads(again.collection_file.read_text())
    assert [s["name"] for s in data["sources"]] == ["Scene", "Alice"]
    assert data["modules"]["auto-scene-switcher"] == {"active": False}
    settings = script_settings_from_collection(again)
    assert settings == {"port": 9999, "token": "first", "codec": "vp9", "host": "0.0.0.0"}
    assert len(data["modules"]["scripts-tool"]) == 1


def test_broken_collection_is_kept_aside(tmp_path: Path) -> None:
    setup = ObsSetup(config_home=tmp_path, script_path=SCRIPT)
    setup.collection_file.parent.mkdir(parents=True)
    setup.collection_file.write_text("{not json")
    write_all(setup)
    assert json.loads(setup.collection_file.read_text())["modules"]["scripts-tool"]
    assert setup.collection_file.with_suffix(".json.broken").read_text() == "{not json"


def test_command_and_environment(tmp_path: Path) -> None:
    setup = ObsSetup(config_home=tmp_path, script_path=SCRIPT, profile="P", collection="C")
    assert obs_command(setup) == ["obs", "--multi", "--collection", "C", "--profile", "P"]
    env = obs_environment(setup, ":7", base={"PATH": "/bin", "WAYLAND_DISPLAY": "w"})
    assert env["XDG_CONFIG_HOME"] == str(tmp_path.resolve()) and env["DISPLAY"] == ":7"
    assert env["QT_QPA_PLATFORM"] == "xcb"


def test_run_command_maps_record_values() -> None:
    sys.path.insert(0, str(ROOT / "install"))
    try:
        import run_obs
    finally:
        sys.path.remove(str(ROOT / "install"))
    assert run_obs.record_overrides(None) == {}
    assert run_obs.record_overrides("0") == {"record_mode": "pcm"}
    assert run_obs.record_overrides("-120") == {"record_mode": "opus", "audio_kbps": 120}
    assert run_obs.record_overrides("2500") == {"record_mode": "video", "video_kbps": 2500}
