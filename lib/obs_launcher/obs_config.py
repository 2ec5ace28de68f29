"""Write an OBS Studio configuration that loads the guest recorder script.

Used by the run command (install/run-obs.sh) and by the tests' OBS harness. No libobs here:
it only writes files OBS reads at start-up, under an XDG_CONFIG_HOME of our own, so a
user's own OBS configuration is never touched.

Re-running is safe: existing profiles and scene collections are kept (a user's scenes and
guest sources survive); only the keys we own are set, and the script entry is added to the
scene collection when it is missing.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT_MODULE_KEY = "scripts-tool"
DEFAULT_NAME = "GuestRecorder"


@dataclass
class ObsSetup:
    """What to write. Paths are made absolute when written."""

    config_home: Path  # becomes XDG_CONFIG_HOME for OBS; OBS uses <config_home>/obs-studio
    script_path: Path
    script_settings: dict[str, Any] = field(default_factory=dict)  # filled in where missing
    script_overrides: dict[str, Any] = field(default_factory=dict)  # always set (e.g. CLI flags)
    extra_scripts: list[Path] = field(default_factory=list)  # loaded too, without settings
    profile: str = DEFAULT_NAME
    collection: str = DEFAULT_NAME
    websocket_port: int = 4455
    websocket_password: str = ""  # empty: no authentication
    record_dir: Path | None = None  # OBS's own recording folder (simple output mode)
    canvas: tuple[int, int] = (1280, 720)
    output: tuple[int, int] | None = None  # scaled output; None = the canvas size
    fps: int = 30
    confirm_on_exit: bool = True
    # Replace the scene collection and script settings even when they exist (tests).
    fresh: bool = False

    @property
    def obs_dir(self) -> Path:
        return Path(self.config_home) / "obs-studio"

    @property
    def profile_dir(self) -> Path:
        return self.obs_dir / "basic" / "profiles" / self.profile

    @property
    def collection_file(self) -> Path:
        return self.obs_dir / "basic" / "scenes" / f"{self.collection}.json"

    @property
    def log_dir(self) -> Path:
        return self.obs_dir / "logs"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _read_ini(path: Path) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.optionxform = str  # OBS keys are case-sensitive
    if path.exists():
        # OBS may write a UTF-8 BOM on some systems
        ini.read_string(path.read_text(encoding="utf-8-sig"))
    return ini


def _write_ini(path: Path, ini: configparser.ConfigParser) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        ini.write(fh, space_around_delimiters=False)
    os.replace(tmp, path)


def _set(ini: configparser.ConfigParser, section: str, values: dict[str, Any]) -> None:
    if not ini.has_section(section):
        ini.add_section(section)
    for key, value in values.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        ini.set(section, key, str(value))


def read_global_ini(setup: ObsSetup) -> configparser.ConfigParser:
    return _read_ini(setup.obs_dir / "global.ini")


def _set_missing(ini: configparser.ConfigParser, section: str, values: dict[str, Any]) -> None:
    if not ini.has_section(section):
        ini.add_section(section)
    _set(ini, section, {k: v for k, v in values.items() if not ini.has_option(section, k)})


def write_global_ini(setup: ObsSetup) -> Path:
    path = setup.obs_dir / "global.ini"
    ini = _read_ini(path)
    # FirstRun=true keeps the auto-configuration wizard question away.
    _set(ini, "General", {"FirstRun": True, "ConfirmOnExit": setup.confirm_on_exit})
    _set(ini, "Basic", {
        "Profile": setup.profile, "ProfileDir": setup.profile,
        "SceneCollection": setup.collection, "SceneCollectionFile": setup.collection,
    })
    # obs-websocket 5 as shipped with OBS 29 reads this section. FirstLoad=false stops it
    # from making up a password of its own at the first start.
    _set(ini, "OBSWebSocket", {
        "FirstLoad": False, "ServerEnabled": True, "ServerPort": setup.websocket_port,
        "AlertsEnabled": False, "AuthRequired": bool(setup.websocket_password),
        "ServerPassword": setup.websocket_password,
    })
    _write_ini(path, ini)
    _write_websocket_json(setup)
    return path


def _write_websocket_json(setup: ObsSetup) -> None:
    """The same settings where obs-websocket 5.5+ (OBS 30.2+) looks for them."""
    path = setup.obs_dir / "plugin_config" / "obs-websocket" / "config.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
    data.update({
        "first_load": False, "server_enabled": True, "server_port": setup.websocket_port,
        "alerts_enabled": False, "auth_required": bool(setup.websocket_password),
        "server_password": setup.websocket_password,
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def write_profile(setup: ObsSetup) -> Path:
    path = setup.profile_dir / "basic.ini"
    ini = _read_ini(path)
    width, height = setup.canvas
    out_w, out_h = setup.output or setup.canvas
    setter = _set if setup.fresh or not path.exists() else _set_missing
    _set(ini, "General", {"Name": setup.profile})
    setter(ini, "Video", {
        "BaseCX": width, "BaseCY": height, "OutputCX": out_w, "OutputCY": out_h,
        "FPSType": 1, "FPSInt": setup.fps,
    })
    setter(ini, "Audio", {"SampleRate": 48000, "ChannelSetup": "Stereo"})
    setter(ini, "Output", {"Mode": "Simple"})
    simple: dict[str, Any] = {
        "RecFormat": "mkv", "RecFormat2": "mkv", "RecQuality": "Stream",
        "StreamEncoder": "x264", "RecEncoder": "x264", "VBitrate": 2500,
        "Preset": "veryfast", "ABitrate": 160,
    }
    if setup.record_dir is not None:
        Path(setup.record_dir).mkdir(parents=True, exist_ok=True)
        simple["FilePath"] = str(Path(setup.record_dir).resolve())
    setter(ini, "SimpleOutput", simple)
    if setup.record_dir is not None and setter is _set_missing:
        _set(ini, "SimpleOutput", {"FilePath": simple["FilePath"]})
    _write_ini(path, ini)
    return path


def _empty_collection(name: str) -> dict[str, Any]:
    scene = {
        "id": "scene", "versioned_id": "scene", "name": "Scene",
        "settings": {"items": [], "id_counter": 0, "custom_size": False},
        "mixers": 0, "enabled": True, "volume": 1.0, "muted": False,
    }
    return {
        "name": name,
        "current_scene": "Scene",
        "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [scene],
        "groups": [],
        "transitions": [],
        "current_transition": "Fade",
        "transition_duration": 300,
        "modules": {},
    }


def write_scene_collection(setup: ObsSetup) -> Path:
    path = setup.collection_file
    data: dict[str, Any] | None = None
    if path.exists() and not setup.fresh:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            # Keep the broken file for the user; start from a clean collection.
            shutil.copy2(path, path.with_suffix(".json.broken"))
    if data is None:
        data = _empty_collection(setup.collection)
    script = str(Path(setup.script_path).resolve())
    modules = data.setdefault("modules", {})
    scripts = modules.setdefault(SCRIPT_MODULE_KEY, [])
    entry = next((s for s in scripts if s.get("path") == script), None)
    if entry is None:
        entry = {"path": script, "settings": {}}
        scripts.append(entry)
    settings = entry.setdefault("settings", {})
    if setup.fresh:
        settings.clear()
        settings.update(setup.script_settings)
    else:
        # A user's later changes in the script's properties win over our defaults.
        for key, value in setup.script_settings.items():
            settings.setdefault(key, value)
    settings.update(setup.script_overrides)
    for extra in setup.extra_scripts:
        extra_path = str(Path(extra).resolve())
        if not any(s.get("path") == extra_path for s in scripts):
            scripts.append({"path": extra_path, "settings": {}})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=4), encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_plain_collection(setup: ObsSetup, name: str) -> Path:
    """Another scene collection, without the script (to switch to and back)."""
    path = setup.obs_dir / "basic" / "scenes" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_empty_collection(name), indent=4), encoding="utf-8")
    return path


def script_settings_from_collection(setup: ObsSetup) -> dict[str, Any]:
    """The script's settings as stored in the scene collection (after OBS saved them)."""
    try:
        data = json.loads(setup.collection_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    script = str(Path(setup.script_path).resolve())
    for entry in data.get("modules", {}).get(SCRIPT_MODULE_KEY, []):
        if entry.get("path") == script:
            return dict(entry.get("settings", {}))
    return {}


def write_all(setup: ObsSetup) -> None:
    write_global_ini(setup)
    write_profile(setup)
    write_scene_collection(setup)


def obs_command(setup: ObsSetup, obs_binary: str = "obs") -> list[str]:
    # --multi: never stop at the "OBS is already running" question.
    return [obs_binary, "--multi", "--collection", setup.collection, "--profile", setup.profile]


def obs_environment(setup: ObsSetup, display: str | None = None,
                    base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["XDG_CONFIG_HOME"] = str(Path(setup.config_home).resolve())
    if display:
        env["DISPLAY"] = display
    env.setdefault("QT_QPA_PLATFORM", "xcb")
    return env


def latest_log(setup: ObsSetup) -> Path | None:
    logs = sorted(setup.log_dir.glob("*.txt"), key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None
