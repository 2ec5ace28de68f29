"""What the studio can do to one guest, whatever ingest brought it: hang up, ask it to
mute or unmute, send it a message, change its video bitrate.

Requests go to the guest's own software through its control channel (`GuestControl.
send_control`); a guest without one (FFmpeg) can still be hung up. Runs on the loop.
"""

from __future__ import annotations

import dataclasses
import logging

from ..common.plan import MAX_VIDEO_KBPS
from .guest import ControlRefused
from .roster import GuestRoster

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 500
MIN_VIDEO_KBPS = 100


class DirectorError(ValueError):
    """A request that cannot be done; the message is meant for the user."""


class Director:
    def __init__(self, roster: GuestRoster) -> None:
        self._roster = roster

    def _guest(self, name: str):
        guest = self._roster.get(name)
        if guest is None or guest.ended:
            raise DirectorError(f"no guest named {name!r} is connected")
        return guest

    def _send(self, name: str, message: dict) -> bool:
        guest = self._guest(name)
        if guest.control is None:
            raise DirectorError(f"{name} joined without the guest page; it cannot be asked that")
        try:
            sent = bool(guest.control.send_control(message))
        except ControlRefused as exc:
            raise DirectorError(f"{name}: {exc}") from None
        if not sent:
            raise DirectorError(f"{name}'s page is not listening yet; try again in a moment")
        return sent

    async def hang_up(self, name: str) -> bool:
        """Ends the guest; also a dropped guest's wait for its return (its source blanks,
        its take ends). Its page is told and does not come back on its own."""
        guest = self._roster.get(name)
        if guest is not None and not guest.ended and guest.control is not None:
            try:
                guest.control.send_control({"type": "hangup"})  # the page says why it ended
            except ControlRefused:
                pass  # the guest's software has no word for it; the connection still ends
        if not await self._roster.hang_up(name):
            raise DirectorError(f"no guest named {name!r} is connected")
        log.info("guest %r hung up by the studio", name, extra={"user": True})
        return True

    def ask_mute(self, name: str, mute: bool) -> bool:
        self._send(name, {"type": "mute", "mute": bool(mute)})
        log.info("asked %r to %s", name, "mute" if mute else "unmute", extra={"user": True})
        return True

    def message(self, name: str, text: str) -> bool:
        text = " ".join((text or "").split())[:MAX_MESSAGE_CHARS]
        if not text:
            raise DirectorError("the message is empty")
        self._send(name, {"type": "message", "text": text})
        log.info("message to %r: %s", name, text, extra={"user": True})
        return True

    def set_video_bitrate(self, name: str, kbps: int) -> int:
        """Caps what the guest sends and, for video recordings that re-encode, what its
        next recording writes. Returns the bitrate used (clamped to a sane range)."""
        guest = self._guest(name)
        kbps = max(MIN_VIDEO_KBPS, min(MAX_VIDEO_KBPS, int(kbps)))
        plan = guest.config.plan
        if plan.video and not plan.copy:
            guest.config.plan = dataclasses.replace(plan, video_kbps=kbps)
        if guest.control is not None:
            try:
                guest.control.send_control({"type": "bitrate", "kbps": kbps})
            except ControlRefused as exc:
                log.info("%s: %s", name, exc)
        log.info("video bitrate of %r set to %d kbps", name, kbps, extra={"user": True})
        return kbps
