"""The script's panel in Tools > Scripts: its properties and what its buttons do.

The panel is narrow at the dialog's default size (775x492: about 300 pixels for the
properties), and a form's label column is as wide as its longest label. So the panel is
made of groups, each with its own short labels, and the buttons sit in groups without
labels, where they get the group's full width.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import obspython as obs

from ..export.background_export import ExportBusy
from ..export.errors import ExportError
from ..server.netaddr import is_loopback, link_host
from ..server.settings import EngineError
from . import script_settings as S
from .room_properties import room_fields
from .script_state import link_for, log, read_options, refresh_status, state

RECORD_MODES = [("video", "Video + audio"), ("opus", "Audio only, Opus"),
                ("pcm", "Audio only, PCM (lossless)")]
CODECS = [("vp8", "VP8"), ("vp9", "VP9"), ("av1", "AV1"), ("h264", "H.264"),
          ("copy", "Original, no re-encode")]
RETURN_VIDEO = [("grid", "The guests, side by side"), ("program", "OBS's program"), ("off", "Nothing")]
START_CHOICES = [("join", "When a guest joins"), ("obs", "With OBS's recording"), ("manual", "By hand")]
CONTROL_ROOM_DOCK = "Add it as a Custom Browser Dock (Docks > Custom Browser Docks)."
CONTROL_ROOM_HELP = (
    "Every guest live, with their controls and invites: add this address as a Custom Browser "
    "Dock (Docks > Custom Browser Docks), or open it in a browser. It holds the operator key: "
    "keep it to yourself.")
RECORD_AT = [("", "Studio and guest's browser (audio only: studio)"), ("both", "Studio and guest's browser"),
             ("studio", "Studio only (what arrives)"), ("guest", "Guest's browser only (uploaded)")]


def build_properties():
    props = obs.obs_properties_create()
    settings = state.settings
    controller = state.controller
    if settings is not None:
        obs.obs_data_set_string(settings, "guest_link", _shown_guest_link())
        obs.obs_data_set_string(settings, "control_link", (controller.control_link if controller else "")
                                or "(the guest server is not running)")
    link = obs.obs_properties_add_text(props, "guest_link", "Guest link", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(link, "Select it and copy it (Ctrl+C) to send to a guest.")
    control = obs.obs_properties_add_text(props, "control_link", "Control room", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(control, CONTROL_ROOM_HELP)
    # Plain text (no markup in it), wrapped under the link.
    obs.obs_properties_add_text(props, "control_help", CONTROL_ROOM_DOCK, obs.OBS_TEXT_INFO)
    if controller and controller.last_error:
        p = obs.obs_properties_add_text(props, "error_info", f"Error: {html.escape(controller.last_error)}",
                                        obs.OBS_TEXT_INFO)
        obs.obs_property_text_set_info_type(p, obs.OBS_TEXT_INFO_ERROR)
    if state.notice:
        obs.obs_properties_add_text(props, "notice", html.escape(state.notice), obs.OBS_TEXT_INFO)
    _add_group(props, "guests_group", "Guests", _guests)
    _add_group(props, "link_group", "A guest's own link", _own_link)
    _add_group(props, "recording_group", "Recording", _recording)
    _add_group(props, "server_group", "Server", _server)
    _add_group(props, "vdo_group", "VDO.Ninja room", room_fields)
    return props


def _add_group(props, name: str, title: str, fill) -> None:
    group = obs.obs_properties_create()
    fill(group)
    obs.obs_properties_add_group(props, name, title, obs.OBS_GROUP_NORMAL, group)


def _guests(props) -> None:
    refresh_status()
    obs.obs_properties_add_text(props, "status_info", html.escape(
        f"Guests (at {state.status_time}):\n{state.status_text}"), obs.OBS_TEXT_INFO)
    obs.obs_properties_add_button(props, "refresh", "Refresh status", on_refresh)
    obs.obs_properties_add_button(props, "start_all", "Start all guest recordings", on_start_all)
    obs.obs_properties_add_button(props, "stop_all", "Stop all guest recordings", on_stop_all)
    obs.obs_properties_add_button(props, "open_folder", "Open recordings folder", on_open_folder)
    export = obs.obs_properties_add_button(props, "export_last", "Export last session for editing",
                                           on_export_last)
    obs.obs_property_set_long_description(
        export, "Timelines for every editor and a WAV per guest, in the session folder's export "
                "folder; progress and the result in the Script Log.")
    obs.obs_properties_add_bool(props, "export_proxies", "Export with proxies (Premiere, Final Cut, Avid)")
    add = obs.obs_properties_add_bool(props, "add_to_scene", "Add guests to the current scene")
    obs.obs_property_set_long_description(
        add, "New guests appear in the current scene, side by side in a grid.")
    _studio_track(props)


def _studio_track(props) -> None:
    hear = obs.obs_properties_add_list(props, "studio_track", "Guests hear OBS track",
                                       obs.OBS_COMBO_TYPE_LIST, obs.OBS_COMBO_FORMAT_INT)
    for track in range(1, 7):
        obs.obs_property_list_add_int(hear, f"Track {track}", track)
    obs.obs_property_list_add_int(hear, "None (guests hear only each other)", 0)
    obs.obs_property_set_long_description(
        hear, "What is on this audio track reaches every guest with the other guests' voices: "
              "tick the track in Edit > Advanced Audio Properties for your microphone, music or "
              "media. Guest sources are left out of it, so no guest hears itself.")
    _choices(
        props, "return_video", "Guests see", RETURN_VIDEO,
        "The picture every guest gets back: the guests side by side, or what OBS shows "
        "(its program, small; OBS then renders it as while recording), or nothing.")


def _choices(props, key: str, label: str, choices: list[tuple[str, str]], description: str = ""):
    """A drop-down of (value, label) strings, with its tooltip."""
    choice = obs.obs_properties_add_list(props, key, label, obs.OBS_COMBO_TYPE_LIST,
                                         obs.OBS_COMBO_FORMAT_STRING)
    for value, text in choices:
        obs.obs_property_list_add_string(choice, text, value)
    if description:
        obs.obs_property_set_long_description(choice, description)
    return choice


def _own_link(props) -> None:
    name = obs.obs_properties_add_text(props, "link_name", "Name", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        name, "The guest's name: Make guest link makes an invite for that guest alone and puts "
              "its link in the Guest link field. Whoever uses it joins under this name, one "
              "connection at a time; revoke it in the control room.")
    obs.obs_properties_add_button(props, "make_link", "Make guest link", on_make_link)
    only = obs.obs_properties_add_bool(props, "invite_only", "Invites only")
    obs.obs_property_set_long_description(
        only, "Guests join only through their own links (Make guest link, or the control room's "
              "invites); the shared guest link lets nobody in.")


def _recording(props) -> None:
    mode = _choices(props, "record_mode", "Record", RECORD_MODES)
    obs.obs_property_set_modified_callback(mode, on_mode_changed)
    low, high = S.LIMITS["video_kbps"]
    video = obs.obs_properties_add_int(props, "video_kbps", "Video bitrate", low, high, 100)
    obs.obs_property_int_set_suffix(video, " kbps")
    low, high = S.LIMITS["audio_kbps"]
    audio = obs.obs_properties_add_int(props, "audio_kbps", "Opus bitrate", low, high, 1)
    obs.obs_property_int_set_suffix(audio, " kbps")
    _choices(props, "codec", "Video codec", CODECS)
    if state.settings is not None:
        on_mode_changed(props, mode, state.settings)
    _choices(
        props, "start_recording", "Start", START_CHOICES,
        "When a guest joins: every guest records from the start. With OBS's recording: "
        "OBS's Start/Stop Recording starts and stops every guest's. By hand: the buttons "
        "above, the hotkeys, or each guest source's Record this guest.")
    _choices(
        props, "record_at", "Record at", RECORD_AT,
        "The studio records what arrives; the guest's browser records its own camera and "
        "microphone at the record settings and uploads while it records, so that file does "
        "not suffer from the guest's network.")
    obs.obs_properties_add_path(props, "out_dir", "Folder", obs.OBS_PATH_DIRECTORY, None,
                                state.default_out_dir)


def _server(props) -> None:
    for name, label, kind in (("host", "Address", "text"), ("port", "Port", "int"),
                              ("token", "Token", "text")):
        prop = (obs.obs_properties_add_int(props, name, label, 1, 65535, 1) if kind == "int"
                else obs.obs_properties_add_text(props, name, label, obs.OBS_TEXT_DEFAULT))
        obs.obs_property_set_modified_callback(prop, on_server_changed)
    key = obs.obs_properties_add_text(props, "operator_key", "Operator key", obs.OBS_TEXT_PASSWORD)
    obs.obs_property_set_long_description(
        key, "The control room's key: every operator action needs it, guests never get it. "
             "Change it to lock out an old control room link.")
    # Guests on the internet: ICE servers, TURN secret, own certificate (see the README).
    ice = obs.obs_properties_add_text(props, "ice_servers", "ICE servers", obs.OBS_TEXT_MULTILINE)
    obs.obs_property_set_long_description(
        ice, 'STUN/TURN servers as W3C RTCIceServer JSON, e.g. [{"urls": "stun:stun.l.google.com:19302"}]. '
             "Empty: one public STUN server (enough for most home routers). [] turns them off.")
    secret = obs.obs_properties_add_text(props, "turn_secret", "TURN secret", obs.OBS_TEXT_PASSWORD)
    obs.obs_property_set_long_description(
        secret, "The shared secret of your coturn (install/turn.sh prints it): each guest gets TURN "
                "credentials valid for a few hours; the secret stays here.")
    pem = "PEM files (*.pem *.crt *.cer *.key);;All files (*.*)"
    cert = obs.obs_properties_add_path(props, "cert_file", "Certificate", obs.OBS_PATH_FILE, pem, None)
    obs.obs_property_set_long_description(
        cert, "Your own TLS certificate for your domain (PEM); empty: a self-signed one.")
    obs.obs_properties_add_path(props, "key_file", "Private key", obs.OBS_PATH_FILE, pem, None)
    # More guests than one machine: guests through a Janus SFU (see the README).
    sfu = obs.obs_properties_add_text(props, "sfu", "SFU", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        sfu, "janus:http://HOST:8088/janus to take guests through a Janus VideoRoom "
             "(install/janus.sh prints it); empty: guests connect here.")
    obs.obs_properties_add_int(props, "sfu_room", "SFU room", 1, 2**31 - 1, 1)
    obs.obs_properties_add_text(props, "sfu_secret", "SFU secret", obs.OBS_TEXT_PASSWORD)


# ----- callbacks (OBS's UI thread) ------------------------------------------------------

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


def _shown_guest_link() -> str:
    """The link the Guest link field shows: the last invite made, else the shared link."""
    if state.invite_link:
        return state.invite_link
    if state.controller is not None and state.controller.options.invite_only:
        return "(invites only: type a name and press Make guest link)"
    return link_for() or "(the guest server is not running)"


def on_make_link(props, prop):
    """An invite for the named guest: bound to that name, one connection at a time."""
    name = obs.obs_data_get_string(state.settings, "link_name").strip() if state.settings else ""
    controller = state.controller
    if not controller or not controller.running:
        return _say("The guest server is not running; see the Script Log.")
    if not name:
        state.invite_link = ""
        obs.obs_data_set_string(state.settings, "guest_link", _shown_guest_link())
        if controller.options.invite_only:
            return _say("Type the guest's name first: the link is made for that guest alone.")
        return _say("The Guest link field shows the link every guest may use; type a name "
                    "for a guest's own link.")
    try:
        link = controller.make_invite(name)
    except EngineError as exc:
        return _say(f"No link made: {exc}")
    state.invite_link = link
    obs.obs_data_set_string(state.settings, "guest_link", link)
    return _say(f"Invite for {name}: {link}")


def on_export_last(props, prop):
    """The last session exported on a thread of its own; the Script Log follows it."""
    controller = state.controller
    if controller is None:
        return False
    proxies = bool(state.settings is not None and obs.obs_data_get_bool(state.settings, "export_proxies"))
    try:
        job = controller.export_last_session(proxies)
    except ExportBusy as exc:
        return _say(f"Not started: {exc}.")
    except ExportError as exc:
        return _say(f"Nothing to export: {exc}.")
    return _say(f"Exporting {job.session} for editing; the Script Log shows how it goes.")


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
            subprocess.Popen([*opener, str(folder)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        else:
            return _say(f"No program to open folders; the recordings are in {folder}")
    except OSError as exc:
        return _say(f"Could not open {folder}: {exc}")
    return _say(f"Opened {folder}")
