"""Hotkeys of each guest source: start and stop that guest's recording, hang up.

OBS lists them under the source's name in Settings > Hotkeys and saves their bindings
with the source. obs-websocket's TriggerHotkeyByName reaches them by these names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# (name, description in Settings > Hotkeys, action)
GUEST_HOTKEYS = (
    ("guestrec_guest_record_start", "Start recording this guest", "record_start"),
    ("guestrec_guest_record_stop", "Stop recording this guest", "record_stop"),
    ("guestrec_guest_hang_up", "Hang up this guest", "hang_up"),
)

StatusFn = Callable[[str], "Mapping[str, Any] | None"]


def run_guest_hotkey(action: str, guest: str, *, guest_status: StatusFn,
                     set_recording: Callable[[str, bool], None],
                     control: Callable[[str, str, Any], None],
                     log: Callable[[str, str], None]) -> None:
    """Do what a guest's hotkey asks; a guest who is not connected is only logged."""
    status = guest_status(guest)
    if action == "hang_up" and status and status.get("returning"):
        control(guest, "hang_up", None)  # ends the wait for a dropped guest
        return
    if not (status and status.get("connected")):
        log("info", f"hotkey {action!r} for {guest!r}: the guest is not connected")
        return
    if action in ("record_start", "record_stop"):
        on = action == "record_start"
        if bool(status.get("recording")) != on:
            set_recording(guest, on)
    elif action == "hang_up":
        control(guest, "hang_up", None)
    else:
        log("warning", f"unknown guest hotkey action {action!r}")
