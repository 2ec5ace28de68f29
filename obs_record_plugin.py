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
import threading
import time
from collections import deque
import secrets
import shutil
import site
import subprocess
import sys
import urllib.parse
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
try:
    from guestrec.obs_bridge.preload import isolate_pyav_libraries

    # Before PyAV loads: its codecs must not bind to the system ones OBS links.
    PRELOADED = isolate_pyav_libraries()
    import av  # noqa: F401  (checked here so a missing one is named clearly)
    import aiortc  # noqa: F401
    import aiohttp  # noqa: F401
    import numpy  # noqa: F401
    import guestrec.media  # noqa: F401  (imports everything recording needs)
    from guestrec.obs_bridge import libobs as L
    from guestrec.obs_bridge.controller import GuestRecorderController, ScriptOptions
    from guestrec.obs_bridge import script_settings as S
    from guestrec.obs_bridge.logs import route_package_logs_to_obs, stop_routing
    from guestrec.obs_bridge.sources import GuestSourceManager
    from guestrec.obs_bridge.status import guest_state, guest_status_text
    from guestrec.netaddr import is_loopback, link_host
except ImportError as exc:
    missing = exc.name or str(exc)
    IMPORT_ERROR = (
        f"[guestrec] error: cannot import the Python module {missing!r} ({exc}); looked in "
        f"{', '.join(str(d) for d in dependency_dirs())}; " + install_hint()
    )
    print(IMPORT_ERROR)

RECORD_MODES = [("video", "Video + audio"), ("opus", "Audio only, Opus"),
                ("pcm", "Audio only, PCM (lossless)")]
CODECS = [("vp8", "VP8"), ("vp9", "VP9"), ("av1", "AV1"), ("h264", "H.264"),
          ("copy", "Original, no re-encode")]
START_CHOICES = [("join", "When a guest joins"), ("obs", "With OBS's recording"),
                 ("manual", "By hand (buttons, hotkeys, guest sources)")]
HOTKEYS = [("guestrec_start_all", "Guest Recorder: start all guest recordings", "start"),
           ("guestrec_stop_all", "Guest Recorder: stop all guest recordings", "stop")]


class _State:
    controller = None
    manager = None
    settings = None
    hotkeys: dict[str, int] = {}
    log_handler = None
    default_out_dir = ""
    status_text = "No guests yet."
    status_time = ""
    link_name = ""  # the guest name of the link shown, after "Make guest link"
    notice = ""
    shut_down = False
    script_log: deque = deque(maxlen=500)  # lines for the Script Log, printed by the timer
    main_thread = threading.main_thread()


state = _State()


def log(level: str, message: str) -> None:
    """One line in OBS's Script Log (and so in the OBS log file), from any thread.

    print() reaches the Script Log only from the script's own callbacks, so lines from
    other threads wait for the next timer tick (at most a second)."""
    prefix = "" if level == "info" else f"{level}: "
    state.script_log.append(f"[guestrec] {prefix}{message}")


def flush_script_log() -> None:
    """Print waiting lines; call only from one of the script's callbacks."""
    while state.script_log:
        print(state.script_log.popleft())


# ----- settings ------------------------------------------------------------------------

def obs_record_folder() -> str:
    try:
        path = obs.obs_frontend_get_current_record_output_path()
    except Exception:
        path = ""
    return path or str(Path.home() / "Videos")


def read_options(settings) -> "ScriptOptions":
    g = obs.obs_data_get_string
    return ScriptOptions(
        record_mode=g(settings, "record_mode") or "video",
        video_kbps=int(obs.obs_data_get_int(settings, "video_kbps")),
        audio_kbps=int(obs.obs_data_get_int(settings, "audio_kbps")),
        codec=g(settings, "codec") or "vp8",
        out_dir=g(settings, "out_dir") or "",
        start_recording=g(settings, "start_recording") or "join",
        host=g(settings, "host") or "127.0.0.1",
        port=int(obs.obs_data_get_int(settings, "port")),
        token=g(settings, "token"),
        add_to_scene=obs.obs_data_get_bool(settings, "add_to_scene"),
        ice_servers=g(settings, "ice_servers") or "",
        turn_secret=g(settings, "turn_secret") or "",
        cert_file=g(settings, "cert_file") or "",
        key_file=g(settings, "key_file") or "",
        sfu=g(settings, "sfu"),
        sfu_room=int(obs.obs_data_get_int(settings, "sfu_room")),
        sfu_secret=g(settings, "sfu_secret"),
    )


def settle_settings(settings) -> None:
    """Old settings moved to new ones, out-of-range values corrected in the settings
    themselves, so the dialog shows what is used."""
    old = {key: (obs.obs_data_get_bool(settings, key) if key in S.OLD_BOOLS
                 else obs.obs_data_get_int(settings, key))
           for key in S.OLD_KEYS if obs.obs_data_has_user_value(settings, key)}
    has_new = {key: obs.obs_data_has_user_value(settings, key) for key in S.NEW_KEYS}
    mode = obs.obs_data_get_string(settings, "record_mode") or "video"
    for key, value in S.migrate(old, has_new, mode).items():
        (obs.obs_data_set_string if isinstance(value, str) else obs.obs_data_set_int)(settings, key, value)
    for key in old:
        obs.obs_data_erase(settings, key)
    for key, (low, high) in S.LIMITS.items():
        value = obs.obs_data_get_int(settings, key)
        fixed = min(high, max(low, value))
        if fixed != value:
            obs.obs_data_set_int(settings, key, fixed)
            log("warning", f"{S.LABELS[key]} {value} kbps is out of range; set to {fixed} kbps")


def script_defaults(settings):
    state.default_out_dir = obs_record_folder()
    obs.obs_data_set_default_string(settings, "record_mode", "video")
    obs.obs_data_set_default_int(settings, "video_kbps", 6000)
    obs.obs_data_set_default_int(settings, "audio_kbps", 128)
    obs.obs_data_set_default_string(settings, "codec", "vp8")
    obs.obs_data_set_default_string(settings, "out_dir", state.default_out_dir)
    obs.obs_data_set_default_string(settings, "start_recording", "join")
    obs.obs_data_set_default_string(settings, "host", "127.0.0.1")
    obs.obs_data_set_default_int(settings, "port", 8765)
    obs.obs_data_set_default_bool(settings, "add_to_scene", True)
    obs.obs_data_set_default_int(settings, "sfu_room", 1234)


def script_description():
    text = ("<b>Guest Recorder</b><br>Remote guests join over WebRTC; each one becomes its own "
            "source and gets its own recording.")
    if IMPORT_ERROR:
        return text + f"<br><br><b>Not working:</b> {IMPORT_ERROR}"
    link = state.controller.guest_link if state.controller else ""
    if link:
        text += f'<br><br>Guest link: <a href="{html.escape(link)}">{html.escape(link)}</a>'
    if state.controller and state.controller.last_error:
        text += f"<br><b>Error:</b> {html.escape(state.controller.last_error)}"
    return text


def link_for(guest: str = "") -> str:
    """The guest link, with a guest's name in it when given."""
    link = state.controller.guest_link if state.controller else ""
    if link and guest:
        link += "&name=" + urllib.parse.quote(guest)
    return link


# ----- lifecycle -----------------------------------------------------------------------

def script_load(settings):
    if IMPORT_ERROR:
        print(IMPORT_ERROR)
        return
    state.shut_down = False
    state.settings = settings
    state.log_handler = route_package_logs_to_obs(user_sink=log)
    if not obs.obs_data_get_string(settings, "token"):
        # Made once and saved with the script's settings, so the guest link stays the same.
        obs.obs_data_set_string(settings, "token", secrets.token_urlsafe(16))
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
    except Exception as exc:
        log("error", f"cannot register the WebRTC Guest source type: {exc!r}")
        return
    controller = GuestRecorderController(
        options,
        default_out_dir=lambda: Path(state.default_out_dir),
        log=log,
        sink_factory=manager.sink_factory,
        on_status_change=manager.refresh_properties,
        obs_recording=bool(obs.obs_frontend_recording_active()),
    )
    controller_box.append(controller)
    state.manager, state.controller = manager, controller
    controller.start()
    obs.obs_frontend_add_event_callback(on_frontend_event)
    _register_hotkeys(settings)
    obs.timer_add(refresh_status, 1000)
    log("info", f"loaded; dependencies from {SITE_DIRS or 'the system'}")
    log("info", f"guest recordings go to {options.out_dir or state.default_out_dir} "
                "(a folder per session)")
    flush_script_log()


def script_update(settings):
    if state.controller is None:
        return
    state.default_out_dir = obs_record_folder()  # follows OBS's own setting
    settle_settings(settings)
    state.controller.update_options(read_options(settings))


def script_save(settings):
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
    if state.shut_down:
        return
    state.shut_down = True
    try:
        obs.timer_remove(refresh_status)
    except Exception:
        pass
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


# ----- status (timer: graphics thread, reads the controller's cache only) --------------

def refresh_status():
    flush_script_log()
    controller = state.controller
    if controller is None:
        return
    statuses = controller.statuses()
    state.status_time = time.strftime("%H:%M:%S")
    if not statuses:
        state.status_text = "No guests yet." if controller.running else "Guest server not running."
        return
    lines = [f"{s.get('name')}: {guest_status_text(s)}"
             for s in sorted(statuses, key=lambda s: str(s.get("name")))]
    counts = {word: sum(guest_state(s) == word for s in statuses) for word in ("recording", "live")}
    state.status_text = (f"{counts['recording']} recording, {counts['live']} live, not recording\n"
                         + "\n".join(lines))


# ----- properties ----------------------------------------------------------------------

def script_properties():
    props = obs.obs_properties_create()
    if IMPORT_ERROR:
        obs.obs_properties_add_text(props, "error", IMPORT_ERROR, obs.OBS_TEXT_INFO)
        return props
    controller = state.controller
    settings = state.settings
    if settings is not None:
        obs.obs_data_set_string(settings, "guest_link",
                                link_for(state.link_name) or "(the guest server is not running)")
    link = obs.obs_properties_add_text(props, "guest_link", "Guest link", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(link, "Select it and copy it (Ctrl+C) to send to a guest.")
    if controller and controller.last_error:
        p = obs.obs_properties_add_text(props, "error_info", f"Error: {html.escape(controller.last_error)}",
                                        obs.OBS_TEXT_INFO)
        obs.obs_property_text_set_info_type(p, obs.OBS_TEXT_INFO_ERROR)
    if state.notice:
        obs.obs_properties_add_text(props, "notice", html.escape(state.notice), obs.OBS_TEXT_INFO)
    refresh_status()
    obs.obs_properties_add_text(props, "status_info", html.escape(
        f"Guests (at {state.status_time}):\n{state.status_text}"), obs.OBS_TEXT_INFO)
    obs.obs_properties_add_button(props, "refresh", "Refresh status", on_refresh)
    obs.obs_properties_add_button(props, "start_all", "Start all guest recordings", on_start_all)
    obs.obs_properties_add_button(props, "stop_all", "Stop all guest recordings", on_stop_all)
    obs.obs_properties_add_button(props, "open_folder", "Open recordings folder", on_open_folder)
    obs.obs_properties_add_text(props, "link_name", "Name for a guest's own link", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_button(props, "make_link", "Make guest link", on_make_link)

    mode = obs.obs_properties_add_list(props, "record_mode", "Record", obs.OBS_COMBO_TYPE_LIST,
                                       obs.OBS_COMBO_FORMAT_STRING)
    for value, label in RECORD_MODES:
        obs.obs_property_list_add_string(mode, label, value)
    obs.obs_property_set_modified_callback(mode, on_mode_changed)
    low, high = S.LIMITS["video_kbps"]
    video = obs.obs_properties_add_int(props, "video_kbps", "Video bitrate", low, high, 100)
    obs.obs_property_int_set_suffix(video, " kbps")
    low, high = S.LIMITS["audio_kbps"]
    audio = obs.obs_properties_add_int(props, "audio_kbps", "Opus bitrate", low, high, 1)
    obs.obs_property_int_set_suffix(audio, " kbps")
    codec = obs.obs_properties_add_list(props, "codec", "Video codec", obs.OBS_COMBO_TYPE_LIST,
                                        obs.OBS_COMBO_FORMAT_STRING)
    for value, label in CODECS:
        obs.obs_property_list_add_string(codec, label, value)
    if settings is not None:
        on_mode_changed(props, mode, settings)
    start = obs.obs_properties_add_list(props, "start_recording", "Start recording",
                                        obs.OBS_COMBO_TYPE_LIST, obs.OBS_COMBO_FORMAT_STRING)
    for value, label in START_CHOICES:
        obs.obs_property_list_add_string(start, label, value)
    obs.obs_properties_add_path(props, "out_dir", "Recordings folder", obs.OBS_PATH_DIRECTORY, None,
                                state.default_out_dir)
    obs.obs_properties_add_bool(props, "add_to_scene", "Add guests to the current scene")
    for name, label, kind in (("host", "Server address", "text"), ("port", "Server port", "int"),
                              ("token", "Guest token", "text")):
        prop = (obs.obs_properties_add_int(props, name, label, 1, 65535, 1) if kind == "int"
                else obs.obs_properties_add_text(props, name, label, obs.OBS_TEXT_DEFAULT))
        obs.obs_property_set_modified_callback(prop, on_server_changed)
    _add_network_properties(props)
    obs.obs_properties_add_text(props, "sfu", "SFU (janus:http://host:8088/janus; empty: none)",
                                obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_int(props, "sfu_room", "SFU room", 1, 2**31 - 1, 1)
    obs.obs_properties_add_text(props, "sfu_secret", "SFU secret", obs.OBS_TEXT_PASSWORD)
    return props


def _add_network_properties(props):
    """Guests on the internet: ICE servers, TURN secret, own certificate (see the README)."""
    ice = obs.obs_properties_add_text(props, "ice_servers", "ICE servers (JSON)", obs.OBS_TEXT_MULTILINE)
    obs.obs_property_set_long_description(
        ice, 'STUN/TURN servers as W3C RTCIceServer JSON, e.g. [{"urls": "stun:stun.l.google.com:19302"}]. '
             "Empty: one public STUN server (enough for most home routers). [] turns them off.")
    secret = obs.obs_properties_add_text(props, "turn_secret", "TURN secret", obs.OBS_TEXT_PASSWORD)
    obs.obs_property_set_long_description(
        secret, "The shared secret of your coturn (install/turn.sh prints it): each guest gets TURN "
                "credentials valid for a few hours; the secret stays here.")
    pem = "PEM files (*.pem *.crt *.cer *.key);;All files (*.*)"
    obs.obs_properties_add_path(props, "cert_file", "TLS certificate (own domain)", obs.OBS_PATH_FILE, pem, None)
    obs.obs_properties_add_path(props, "key_file", "TLS private key", obs.OBS_PATH_FILE, pem, None)


def on_mode_changed(props, prop, settings):
    mode = obs.obs_data_get_string(settings, "record_mode") or "video"
    for name, shown in S.shown_settings(mode).items():
        obs.obs_property_set_visible(obs.obs_properties_get(props, name), shown)
    return True


def on_server_changed(props, prop, settings):
    """Show the link the new server settings give at once; an old error no longer applies."""
    if state.controller is None:
        return False
    host = obs.obs_data_get_string(settings, "host") or "127.0.0.1"
    port = obs.obs_data_get_int(settings, "port")
    scheme = "http" if is_loopback(host) else "https"
    link = f"{scheme}://{link_host(host)}:{port}/?token={obs.obs_data_get_string(settings, 'token')}"
    if link == obs.obs_data_get_string(settings, "guest_link"):
        return False
    obs.obs_data_set_string(settings, "guest_link", link)
    error = obs.obs_properties_get(props, "error_info")
    if error is not None:
        obs.obs_property_set_visible(error, False)
    return True


def _say(text: str) -> bool:
    state.notice = text
    log("info", text)
    return True  # the dialog is rebuilt and shows the notice and fresh status


def on_refresh(props, prop):
    state.notice = ""
    return True


def on_start_all(props, prop):
    if not state.controller:
        return False
    state.controller.start_all()
    return _say("Asked every connected guest's recording to start.")


def on_stop_all(props, prop):
    if not state.controller:
        return False
    state.controller.stop_all()
    return _say("Asked every guest recording to stop.")


def on_make_link(props, prop):
    name = obs.obs_data_get_string(state.settings, "link_name").strip() if state.settings else ""
    link = link_for(name)
    if not link:
        return _say("The guest server is not running; see the Script Log.")
    state.link_name = name
    obs.obs_data_set_string(state.settings, "guest_link", link)
    return _say(f"Link for {name}: {link}" if name else f"Guest link: {link}")


def on_open_folder(props, prop):
    controller = state.controller
    folder = controller.session_folder() if controller else None
    if folder is None:
        folder = Path(read_options(state.settings).out_dir or state.default_out_dir)
    if not Path(folder).is_dir():
        return _say(f"The recordings folder does not exist yet: {folder}")
    opener = ({"win32": None, "darwin": ["open"]}.get(sys.platform, ["xdg-open"]))
    try:
        if opener is None:
            os.startfile(str(folder))  # type: ignore[attr-defined]
        elif shutil.which(opener[0]):
            subprocess.Popen(opener + [str(folder)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        else:
            return _say(f"No program to open folders; the recordings are in {folder}")
    except OSError as exc:
        return _say(f"Could not open {folder}: {exc}")
    return _say(f"Opened {folder}")
