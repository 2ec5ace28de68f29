"""Guest Recorder for OBS: remote guests join over WebRTC (WHIP); each one becomes its own
OBS source and gets its own recording.

Add this file in OBS under Tools > Scripts. The code lives in lib/ beside this file; the
Python dependencies (aiortc, PyAV, aiohttp) are looked up, in order, in:
  1. $GUESTREC_SITE_PACKAGES (one or more folders, separated like PATH)
  2. <this folder>/.venv (what install/run-obs.sh makes)
  3. the user data folder, e.g. ~/.local/share/guest-recorder-obs/site-packages
"""

from __future__ import annotations

import gc
import html
import os
import secrets
import site
import sys
from pathlib import Path

import obspython as obs

SCRIPT_DIR = Path(__file__).resolve().parent
LIB_DIR = SCRIPT_DIR / "lib"
PY_DIR = f"python{sys.version_info[0]}.{sys.version_info[1]}"
def user_data_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "guest-recorder-obs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "guest-recorder-obs"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "guest-recorder-obs"


def install_hint() -> str:
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return (f"install them with: bash {SCRIPT_DIR / 'install' / 'run-obs.sh'} --install-only  "
            f"(or: {python} -m pip install --target {user_data_dir() / 'site-packages'} "
            f"-r {SCRIPT_DIR / 'install' / 'requirements.txt'}), then restart OBS")


def dependency_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("GUESTREC_SITE_PACKAGES", "").split(os.pathsep) if p]
    for venv in (SCRIPT_DIR / ".venv", user_data_dir() / "venv"):
        dirs += [venv / "lib" / PY_DIR / "site-packages", venv / "Lib" / "site-packages"]
    dirs.append(user_data_dir() / "site-packages")
    return dirs


def _put_on_path() -> list[str]:
    used = []
    for folder in reversed(dependency_dirs()):  # reversed: the first ends up in front
        if folder.is_dir():
            site.addsitedir(str(folder))  # also runs its .pth files
            sys.path.remove(str(folder))
            sys.path.insert(0, str(folder))
            used.append(str(folder))
    if str(LIB_DIR) in sys.path:
        sys.path.remove(str(LIB_DIR))
    sys.path.insert(0, str(LIB_DIR))
    return list(reversed(used))


def _forget_old_code() -> None:
    """Reload should run the code now on disk: drop our modules from earlier loads."""
    for name in [n for n in sys.modules if n == "guestrec" or n.startswith("guestrec.")]:
        del sys.modules[name]


SITE_DIRS = _put_on_path()
_forget_old_code()
IMPORT_ERROR = ""
PRELOADED: list[str] = []
# The packages install/requirements.txt brings for the script (import names).
DEPENDENCIES = ("av", "aiortc", "aiohttp", "numpy", "opentimelineio")
try:
    from guestrec.obs_bridge.preload import isolate_pyav_libraries

    # Before PyAV loads: its codecs must not bind to the system ones OBS links.
    PRELOADED = isolate_pyav_libraries()
    import aiohttp  # noqa: F401
    import aiortc  # noqa: F401
    import av  # noqa: F401  (checked here so a missing one is named clearly)
    import numpy  # noqa: F401

    import guestrec.media  # noqa: F401  (imports everything recording needs)
    from guestrec.obs_bridge.controller import GuestRecorderController
    from guestrec.obs_bridge.logs import route_package_logs_to_obs, stop_routing
    from guestrec.obs_bridge.return_taps import ReturnTaps
    from guestrec.obs_bridge.script_panel import build_properties
    from guestrec.obs_bridge.script_state import (
        flush_script_log,
        link_for,
        log,
        obs_record_folder,
        read_options,
        refresh_status,
        set_defaults,
        settle_settings,
        state,
    )
    from guestrec.obs_bridge.sources import GuestSourceManager
except ImportError as exc:
    # Name every dependency that is missing, not only the first one imported.
    from importlib.util import find_spec

    absent = [name for name in DEPENDENCIES if find_spec(name) is None]
    missing = ", ".join(repr(name) for name in absent) or repr(exc.name or str(exc))
    IMPORT_ERROR = (
        f"[guestrec] error: cannot import the Python module(s) {missing} ({exc}); looked in "
        f"{', '.join(str(d) for d in dependency_dirs())}; " + install_hint()
    )
    print(IMPORT_ERROR)

HOTKEYS = [("guestrec_start_all", "Guest Recorder: start all guest recordings", "start"),
           ("guestrec_stop_all", "Guest Recorder: stop all guest recordings", "stop")]


def script_defaults(settings):
    if not IMPORT_ERROR:
        set_defaults(settings)


def script_description():
    text = ("<b>Guest Recorder</b><br>Remote guests join over WebRTC; each one becomes its own "
            "source and gets its own recording.")
    if IMPORT_ERROR:
        return text + f"<br><br><b>Not working:</b> {IMPORT_ERROR}"
    link = state.controller.guest_link if state.controller else ""
    if link:
        text += f'<br><br>Guest link: <a href="{html.escape(link)}">{html.escape(link)}</a>'
    control = state.controller.control_link if state.controller else ""
    if control:
        text += (f'<br>Control room: <a href="{html.escape(control)}">{html.escape(control)}</a> '
                 "(add it as a Custom Browser Dock: Docks &gt; Custom Browser Docks)")
    if state.controller and state.controller.last_error:
        text += f"<br><b>Error:</b> {html.escape(state.controller.last_error)}"
    return text


def script_properties():
    if IMPORT_ERROR:
        props = obs.obs_properties_create()
        obs.obs_properties_add_text(props, "error", IMPORT_ERROR, obs.OBS_TEXT_INFO)
        return props
    return build_properties()


# ----- lifecycle -----------------------------------------------------------------------

def script_load(settings):
    if IMPORT_ERROR:
        print(IMPORT_ERROR)
        return
    state.shut_down = False
    state.settings = settings
    state.log_handler = route_package_logs_to_obs(user_sink=log)
    for name in ("token", "operator_key"):
        if not obs.obs_data_get_string(settings, name):
            # Made once and saved with the script's settings: the guest link and the
            # control room's link (a dock's address) stay the same.
            obs.obs_data_set_string(settings, name, secrets.token_urlsafe(16))
    if not state.default_out_dir:
        state.default_out_dir = obs_record_folder()
    settle_settings(settings)
    options = read_options(settings)
    controller_box: list = []
    manager = GuestSourceManager(
        add_to_scene=lambda: bool(controller_box and controller_box[0].options.add_to_scene),
        guest_status=lambda guest: controller_box[0].guest_status(guest) if controller_box else None,
        set_recording=lambda guest, on: controller_box[0].set_recording(guest, on),
        log=log,
        control=lambda guest, action, value: controller_box[0].control(guest, action, value),
        notice=lambda guest: controller_box[0].notice(guest) if controller_box else "",
        guest_link=link_for,
    )
    try:
        manager.install()
    except Exception as exc:  # noqa: BLE001 - reported in the Script Log; OBS goes on without the source type
        log("error", f"cannot register the WebRTC Guest source type: {exc!r}")
        return
    manager.studio_track = options.studio_track  # before any guest source is made
    state.return_taps = ReturnTaps(log)
    state.return_taps.apply(options)
    controller = GuestRecorderController(
        options,
        default_out_dir=lambda: Path(state.default_out_dir),
        log=log,
        sink_factory=manager.sink_factory,
        on_status_change=manager.refresh_properties,
        obs_recording=bool(obs.obs_frontend_recording_active()),
        obs_media=state.return_taps.media,
    )
    controller_box.append(controller)
    state.manager, state.controller = manager, controller
    controller.start()
    obs.obs_frontend_add_event_callback(on_frontend_event)
    _register_hotkeys(settings)
    obs.timer_add(refresh_status, 1000)
    obs.timer_add(_follow_return_listeners, 1000)
    log("info", f"loaded; dependencies from {SITE_DIRS or 'the system'}")
    log("info", f"guest recordings go to {options.out_dir or state.default_out_dir} "
                "(a folder per session)")
    flush_script_log()


def script_update(settings):
    if IMPORT_ERROR or state.controller is None:
        return
    state.default_out_dir = obs_record_folder()  # follows OBS's own setting
    settle_settings(settings)
    options = read_options(settings)
    state.controller.update_options(options)
    state.return_taps.apply(options)
    state.manager.set_studio_track(options.studio_track)


def script_save(settings):
    if IMPORT_ERROR:
        return
    for name, hotkey_id in state.hotkeys.items():
        array = obs.obs_hotkey_save(hotkey_id)
        obs.obs_data_set_array(settings, name, array)
        obs.obs_data_array_release(array)


def script_unload():
    if IMPORT_ERROR:
        return  # nothing was started
    shutdown("script unloaded")


def shutdown(why: str) -> None:
    """Stop everything this load started; safe to call more than once."""
    if IMPORT_ERROR:  # nothing was started, and the bridge's helpers never loaded
        return
    if state.shut_down:
        return
    state.shut_down = True
    for timer in (refresh_status, _follow_return_listeners):
        try:
            obs.timer_remove(timer)
        except Exception:  # noqa: BLE001 - the timer may be gone with OBS already
            pass
    if state.return_taps is not None:
        state.return_taps.close()  # before OBS's audio and video stop: no call into Python after it
        state.return_taps = None
    if state.controller is not None:
        state.controller.stop(timeout=5.0)
    if state.manager is not None:
        state.manager.close()
    for hotkey_id in state.hotkeys.values():
        obs.obs_hotkey_unregister(hotkey_id)
    state.hotkeys = {}
    state.controller = state.manager = state.settings = None
    stop_routing(state.log_handler)
    state.log_handler = None
    flush_script_log()
    # Codec contexts caught in reference cycles hold native encoder/decoder threads until
    # the collector runs; free them now rather than piling them up over reloads.
    gc.collect()
    log("info", f"stopped ({why})")
    flush_script_log()


def _follow_return_listeners() -> None:
    """OBS's track and program are read only while a guest listens or watches."""
    if state.return_taps is not None:
        state.return_taps.follow_listeners()


def on_frontend_event(event):
    controller = state.controller
    if event == obs.OBS_FRONTEND_EVENT_RECORDING_STARTED and controller:
        controller.obs_recording_changed(True)
    elif event == obs.OBS_FRONTEND_EVENT_RECORDING_STOPPED and controller:
        controller.obs_recording_changed(False, obs.obs_frontend_get_last_recording() or None)
    elif event in (getattr(obs, "OBS_FRONTEND_EVENT_SCRIPTING_SHUTDOWN", -1),
                   obs.OBS_FRONTEND_EVENT_EXIT):
        shutdown("OBS is closing")


# ----- hotkeys -------------------------------------------------------------------------

def _hotkey_callback(action: str):
    def pressed(is_pressed):
        if is_pressed and state.controller:
            (state.controller.start_all if action == "start" else state.controller.stop_all)()
    return pressed


def _register_hotkeys(settings) -> None:
    state.hotkeys = {}
    for name, description, action in HOTKEYS:
        hotkey_id = obs.obs_hotkey_register_frontend(name, description, _hotkey_callback(action))
        array = obs.obs_data_get_array(settings, name)
        obs.obs_hotkey_load(hotkey_id, array)
        obs.obs_data_array_release(array)
        state.hotkeys[name] = hotkey_id
