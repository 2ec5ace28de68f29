"""The OBS script's state for one load, its Script Log lines, and its settings as OBS
stores them (read, migrated, corrected). Imported by the script only: needs obspython.
"""

from __future__ import annotations

import time
import urllib.parse
from collections import deque
from pathlib import Path
from typing import Any

import obspython as obs

from ..server.machine_load import load_text
from . import script_settings as S
from .options import ScriptOptions
from .room_properties import read_room_options
from .status import guest_state, guest_status_text, room_status_text


class ScriptState:
    """What one load of the script holds; made afresh at every load."""

    def __init__(self) -> None:
        self.controller: Any = None  # GuestRecorderController
        self.manager: Any = None  # GuestSourceManager
        self.return_taps: Any = None  # ReturnTaps: the OBS track guests hear, the program they see
        self.settings: Any = None  # the script's obs_data_t
        self.hotkeys: dict[str, int] = {}
        self.log_handler: Any = None
        self.default_out_dir = ""
        self.status_text = "No guests yet."
        self.status_time = ""
        self.invite_link = ""  # the last invite made with "Make guest link", shown as the guest link
        self.notice = ""
        self.shut_down = False
        self.script_log: deque[str] = deque(maxlen=500)  # lines for the Script Log, printed by the timer


state = ScriptState()


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


def link_for(guest: str = "") -> str:
    """The guest link, with a guest's name in it when given."""
    link = state.controller.guest_link if state.controller else ""
    if link and guest:
        link += "&name=" + urllib.parse.quote(guest)
    return link


# ----- settings ------------------------------------------------------------------------

def obs_record_folder() -> str:
    try:
        path = obs.obs_frontend_get_current_record_output_path()
    except Exception:  # noqa: BLE001 - no frontend API (e.g. obs-cli); a default folder then
        path = ""
    return path or str(Path.home() / "Videos")


def read_options(settings) -> ScriptOptions:
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
        operator_key=g(settings, "operator_key") or "",
        invite_only=obs.obs_data_get_bool(settings, "invite_only"),
        add_to_scene=obs.obs_data_get_bool(settings, "add_to_scene"),
        record_at=g(settings, "record_at") or "",
        sfu=g(settings, "sfu") or "",
        sfu_room=int(obs.obs_data_get_int(settings, "sfu_room")),
        sfu_secret=g(settings, "sfu_secret") or "",
        ice_servers=g(settings, "ice_servers") or "",
        turn_secret=g(settings, "turn_secret") or "",
        cert_file=g(settings, "cert_file") or "",
        key_file=g(settings, "key_file") or "",
        studio_track=int(obs.obs_data_get_int(settings, "studio_track")),
        return_video=g(settings, "return_video") or "grid",
        **read_room_options(settings),
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


def set_defaults(settings) -> None:
    state.default_out_dir = obs_record_folder()
    obs.obs_data_set_default_string(settings, "record_mode", "video")
    obs.obs_data_set_default_int(settings, "video_kbps", 6000)
    obs.obs_data_set_default_int(settings, "audio_kbps", 128)
    obs.obs_data_set_default_string(settings, "codec", "vp8")
    obs.obs_data_set_default_string(settings, "out_dir", state.default_out_dir)
    obs.obs_data_set_default_string(settings, "start_recording", "join")
    obs.obs_data_set_default_string(settings, "record_at", "")
    obs.obs_data_set_default_string(settings, "host", "127.0.0.1")
    obs.obs_data_set_default_int(settings, "port", 8765)
    obs.obs_data_set_default_bool(settings, "add_to_scene", True)
    obs.obs_data_set_default_bool(settings, "invite_only", False)
    obs.obs_data_set_default_int(settings, "sfu_room", 1234)
    obs.obs_data_set_default_int(settings, "studio_track", 6)
    obs.obs_data_set_default_string(settings, "return_video", "grid")


# ----- status (timer: graphics thread, reads the controller's cache only) --------------

def refresh_status() -> None:
    flush_script_log()
    controller = state.controller
    if controller is None:
        return
    statuses = controller.statuses()
    state.status_time = time.strftime("%H:%M:%S")
    room = room_status_text(controller.room_status)  # the VDO.Ninja room, when one is set
    machine = load_text(controller.machine_load())  # said before a guest joins a full machine
    head = [line for line in (room, machine) if line]
    if not statuses:
        state.status_text = "\n".join(
            [*head, "No guests yet." if controller.running else "Guest server not running."])
        return
    lines = [f"{s.get('name')}: {guest_status_text(s)}"
             for s in sorted(statuses, key=lambda s: str(s.get("name")))]
    counts = {word: sum(guest_state(s) == word for s in statuses)
              for word in ("recording", "live", "reconnecting")}
    summary = f"{counts['recording']} recording, {counts['live']} live, not recording"
    if counts["reconnecting"]:
        summary += f", {counts['reconnecting']} reconnecting"
    state.status_text = "\n".join([*head, summary, *lines])
