"""A guest source's own properties: its live status and the director's controls.

Everything here works from obs-websocket too, so a Stream Deck can drive a guest:
SetInputSettings {"record": bool}, {"hold": bool} or {"video_kbps": N}, and
PressInputPropertiesButton "hang_up", "ask_mute", "ask_unmute", "send_message" (the text
in the "message" setting).

Settings that mirror the guest's real state ("record", "hold", "video_kbps") are written back
from that state whenever the properties are built or refreshed; `update` acts only on a
value that differs from what was last written, so typing a message never flips the
recording because some other control changed it meanwhile.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import libobs as L
from .status import guest_status_detail

StatusFn = Callable[[str], "Mapping[str, Any] | None"]
ControlFn = Callable[[str, str, Any], None]
BUTTON_ACTIONS = {"hang_up": "hang_up", "ask_mute": "mute", "ask_unmute": "unmute"}
MIN_KBPS, MAX_KBPS = 100, 100_000


@dataclass
class Mirrored:
    """What was last written into a source's settings from the guest's real state."""

    values: dict[str, Any] = field(default_factory=dict)


class GuestProperties:
    def __init__(self, lib: L.LibObs, *, guest_status: StatusFn, set_recording: Callable[[str, bool], None],
                 control: ControlFn, notice: Callable[[str], str], guest_link: Callable[[str], str],
                 button_callback: Any) -> None:
        self.lib = lib
        self._status = guest_status
        self._set_recording = set_recording
        self._control = control
        self._notice = notice
        self._link = guest_link
        self._button = button_callback
        self._mirrored: dict[str, Mirrored] = {}

    def _real(self, status: Mapping[str, Any] | None) -> dict[str, Any]:
        real: dict[str, Any] = {"record": bool(status and status.get("recording"))}
        if status and "held" in status:  # only where guests get a return feed
            real["hold"] = bool(status["held"])
        if status and status.get("video_kbps"):
            real["video_kbps"] = int(status["video_kbps"])
        return real

    def mirror(self, source: int, guest: str) -> None:
        """Write the guest's real state into the source's settings (UI thread)."""
        obs = self.lib.obs
        real = self._real(self._status(guest))
        settings = obs.obs_source_get_settings(source)
        if not settings:
            return
        try:
            obs.obs_data_set_bool(settings, b"record", real["record"])
            obs.obs_data_set_bool(settings, b"hold", real.get("hold", False))
            if "video_kbps" in real:
                obs.obs_data_set_int(settings, b"video_kbps", real["video_kbps"])
            obs.obs_data_set_string(settings, b"guest_link", self._link(guest).encode())
        finally:
            obs.obs_data_release(settings)
        self._mirrored[guest] = Mirrored(dict(real))

    def build(self, source: int, guest: str) -> int:
        obs = self.lib.obs
        status = self._status(guest)
        self.mirror(source, guest)
        props = obs.obs_properties_create()
        # Qt shows an info label as rich text when it looks like HTML: a guest's own
        # name (and errors quoting it) must stay plain text.
        text = html.escape(f"{guest}: {guest_status_detail(status)}", quote=False)
        obs.obs_properties_add_text(props, b"status", text.encode(), L.OBS_TEXT_INFO)
        notice = self._notice(guest)
        if notice:
            obs.obs_properties_add_text(props, b"notice", html.escape(notice).encode(), L.OBS_TEXT_INFO)
        connected = bool(status and status.get("connected"))
        toggle = obs.obs_properties_add_bool(props, b"record", b"Record this guest")
        obs.obs_property_set_enabled(toggle, connected)
        hold = obs.obs_properties_add_bool(props, b"hold", b"On hold (hears nobody, heard by nobody)")
        obs.obs_property_set_long_description(
            hold, b"The guest hears none of the others nor the studio, and nobody hears the guest; "
                  b"the recording goes on.")
        obs.obs_property_set_visible(hold, bool(status and "held" in status))
        video = bool(status and status.get("mode") == "video")
        kbps = obs.obs_properties_add_int(props, b"video_kbps", b"Guest's video bitrate",
                                          MIN_KBPS, MAX_KBPS, 100)
        obs.obs_property_int_set_suffix(kbps, b" kbps")
        obs.obs_property_set_visible(kbps, video)
        obs.obs_property_set_enabled(kbps, connected)
        # A dropped guest's wait can be ended too: Hang up stops holding its name and take.
        returning = bool(status and status.get("returning"))
        for name, label in ((b"hang_up", b"Hang up"), (b"ask_mute", b"Ask guest to mute"),
                            (b"ask_unmute", b"Ask guest to unmute")):
            button = obs.obs_properties_add_button(props, name, label, self._button)
            obs.obs_property_set_enabled(button, connected or (returning and name == b"hang_up"))
        obs.obs_properties_add_text(props, b"message", b"Message to the guest", L.OBS_TEXT_DEFAULT)
        send = obs.obs_properties_add_button(props, b"send_message", b"Send message", self._button)
        obs.obs_property_set_enabled(send, connected)
        link = obs.obs_properties_add_text(props, b"guest_link", b"This guest's link", L.OBS_TEXT_DEFAULT)
        obs.obs_property_set_long_description(
            link, b"The studio's link with this guest's name in it; select and copy it.")
        obs.obs_properties_add_button(props, b"refresh", b"Refresh status", self._button)
        return props

    def update(self, source: int, settings: int, guest: str) -> None:
        """Act on a control whose value the user (or obs-websocket) changed."""
        obs = self.lib.obs
        seen = self._mirrored.setdefault(guest, Mirrored(self._real(self._status(guest))))
        want_record = bool(obs.obs_data_get_bool(settings, b"record"))
        if want_record != seen.values.get("record"):
            seen.values["record"] = want_record
            status = self._status(guest)
            if status and status.get("connected") and bool(status.get("recording")) != want_record:
                self._set_recording(guest, want_record)
        want_hold = bool(obs.obs_data_get_bool(settings, b"hold"))
        if want_hold != seen.values.get("hold", False):
            seen.values["hold"] = want_hold
            self._control(guest, "hold", want_hold)
        kbps = int(obs.obs_data_get_int(settings, b"video_kbps"))
        if kbps and kbps != seen.values.get("video_kbps"):
            seen.values["video_kbps"] = kbps
            self._control(guest, "bitrate", kbps)

    def clicked(self, source: int, prop_name: str, guest: str) -> bool:
        """A button; True when OBS should rebuild the properties (fresh status)."""
        if prop_name in BUTTON_ACTIONS:
            self._control(guest, BUTTON_ACTIONS[prop_name], None)
        elif prop_name == "send_message":
            obs = self.lib.obs
            settings = obs.obs_source_get_settings(source)
            text = L.cstr(obs.obs_data_get_string(settings, b"message")) if settings else ""
            if settings:
                obs.obs_data_release(settings)
            self._control(guest, "message", text)
        return True
