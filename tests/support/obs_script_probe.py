"""An OBS script for tests: the product script, plus a hotkey that writes what its
properties dialogs would show into the OBS log.

It loads obs_record_plugin.py as a module and hands every script_* call on to it, so the
product runs as in a user's OBS. The hotkey "guestrec_probe_dump" (triggered through
obs-websocket) logs one JSON line "[probe-dump] {...}" with the script's description, its
properties (name -> description) and, for every WebRTC Guest source, that source's own
properties as OBS builds them (through the source type's get_properties callback).
"""

import importlib.util
import json
from pathlib import Path

import obspython as obs

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("obs_record_plugin", ROOT / "obs_record_plugin.py")
product = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(product)

SCRIPT_PROPS = ["link_info", "status_info", "copy_link", "start_all", "stop_all", "refresh",
                "record_mode", "bitrate_kbps", "codec", "out_dir", "auto_record",
                "follow_obs_recording", "add_to_scene", "host", "port", "token", "notice",
                "ice_servers", "turn_secret", "cert_file", "key_file", "sfu", "sfu_room", "sfu_secret"]
SOURCE_PROPS = ["status", "record", "refresh"]
_hotkey = {"id": None}


def _describe(props, names):
    found = {}
    for name in names:
        prop = obs.obs_properties_get(props, name)
        if prop is not None:
            found[name] = obs.obs_property_description(prop)
    return found


def _dump(pressed):
    if not pressed:
        return
    props = product.script_properties()
    out = {"description": product.script_description(), "script": _describe(props, SCRIPT_PROPS)}
    # Press "Show / copy guest link" as a user would, then look again.
    button = obs.obs_properties_get(props, "copy_link")
    out["copy_refreshes"] = bool(obs.obs_property_button_clicked(button, None))
    obs.obs_properties_destroy(props)
    props = product.script_properties()
    out["after_copy"] = _describe(props, ["notice"])
    obs.obs_properties_destroy(props)
    out["sources"] = {}
    sources = obs.obs_enum_sources()
    for source in sources or []:
        if obs.obs_source_get_unversioned_id(source) != "guestrec_webrtc_guest":
            continue
        sprops = obs.obs_source_properties(source)
        out["sources"][obs.obs_source_get_name(source)] = _describe(sprops, SOURCE_PROPS)
        obs.obs_properties_destroy(sprops)
    obs.source_list_release(sources)
    print("[probe-dump] " + json.dumps(out))


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
