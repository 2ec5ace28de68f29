"""An OBS script for tests: the product script, plus a hotkey that writes what its
properties dialogs would show into the OBS log.

It loads obs_record_plugin.py as a module and hands every script_* call on to it, so the
product runs as in a user's OBS. The hotkey "guestrec_probe_dump" (triggered through
obs-websocket) writes one JSON object to the file named by GUESTREC_PROBE_DUMP with the
script's description, its properties (name -> description) and, for every WebRTC Guest
source, that source's own properties as OBS builds them (through the source type's get_properties callback).
Before dumping, it applies a request the test left in the file named by
GUESTREC_PROBE_APPLY, if any: {"settings": {...}} set as the Scripts dialog would (then
script_update), and {"press": "<button>"} (or a list of buttons, pressed one right after
the other) pressed as a user would.
"""

import importlib.util
import json
import os
from pathlib import Path

import obspython as obs

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("obs_record_plugin", ROOT / "obs_record_plugin.py")
product = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(product)

SCRIPT_PROPS = ["guest_link", "control_link", "control_help", "operator_key", "invite_only",
                "error_info", "status_info", "start_all", "stop_all", "refresh",
                "open_folder", "export_last", "export_proxies", "link_name", "make_link", "record_mode",
                "video_kbps", "audio_kbps", "codec", "out_dir", "start_recording", "add_to_scene", "host",
                "port", "token", "notice", "ice_servers", "turn_secret", "cert_file", "key_file",
                "vdo_link", "vdo_room", "vdo_password", "vdo_server", "vdo_streams", "vdo_director",
                "sfu", "sfu_room", "sfu_secret"]
SOURCE_PROPS = ["status", "notice", "record", "hold", "video_kbps", "hang_up", "ask_mute", "ask_unmute",
                "message", "send_message", "guest_link", "refresh"]
_hotkey = {"id": None}


def _describe(props, names):
    """name -> its label, or None when it is hidden."""
    found = {}
    for name in names:
        prop = obs.obs_properties_get(props, name)
        if prop is not None:
            found[name] = obs.obs_property_description(prop) if obs.obs_property_visible(prop) else None
    return found


def _settings(data):
    return json.loads(obs.obs_data_get_json(data) or "{}")


def _apply():
    request_file = Path(os.environ.get("GUESTREC_PROBE_APPLY", "/nonexistent"))
    if not request_file.exists():
        return
    request = json.loads(request_file.read_text())
    request_file.unlink()
    settings = product.state.settings
    for key, value in (request.get("settings") or {}).items():
        if isinstance(value, bool):
            obs.obs_data_set_bool(settings, key, value)
        elif isinstance(value, int):
            obs.obs_data_set_int(settings, key, value)
        else:
            obs.obs_data_set_string(settings, key, value)
    if request.get("settings"):
        props = product.script_properties()
        mode = obs.obs_properties_get(props, "record_mode")
        obs.obs_property_modified(mode, settings)  # what the dialog does on a change
        obs.obs_properties_destroy(props)
        product.script_update(settings)
    presses = request.get("press") or []
    for name in [presses] if isinstance(presses, str) else presses:
        props = product.script_properties()
        obs.obs_property_button_clicked(obs.obs_properties_get(props, name), None)
        obs.obs_properties_destroy(props)


def _dump(pressed):
    if not pressed:
        return
    _apply()
    props = product.script_properties()
    out = {"description": product.script_description(), "script": _describe(props, SCRIPT_PROPS),
           "settings": _settings(product.state.settings)}
    obs.obs_properties_destroy(props)
    out["sources"] = {}
    sources = obs.obs_enum_sources()
    for source in sources or []:
        if obs.obs_source_get_unversioned_id(source) != "guestrec_webrtc_guest":
            continue
        sprops = obs.obs_source_properties(source)
        found = _describe(sprops, SOURCE_PROPS)
        settings = obs.obs_source_get_settings(source)
        found["settings"] = _settings(settings)
        obs.obs_data_release(settings)
        out["sources"][obs.obs_source_get_name(source)] = found
        obs.obs_properties_destroy(sprops)
    obs.source_list_release(sources)
    # A file, not the log: OBS cuts long log lines.
    target = Path(os.environ["GUESTREC_PROBE_DUMP"])
    part = target.with_suffix(".part")
    part.write_text(json.dumps(out))
    os.replace(part, target)


def script_description():
    return product.script_description()


def script_defaults(settings):
    product.script_defaults(settings)


def script_properties():
    return product.script_properties()


def script_update(settings):
    product.script_update(settings)


def script_save(settings):
    product.script_save(settings)


def script_load(settings):
    product.script_load(settings)
    _hotkey["id"] = obs.obs_hotkey_register_frontend("guestrec_probe_dump", "probe dump", _dump)


def script_unload():
    if _hotkey["id"] is not None:
        obs.obs_hotkey_unregister(_hotkey["id"])
    product.script_unload()
