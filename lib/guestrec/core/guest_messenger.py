"""Telling the guest: its recording state, what went wrong, and that the studio ended its
session, over the control channel its ingest gave it (`GuestControl`). A guest without
one (FFmpeg) is simply not told. Runs on the loop."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from .guest import Guest

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")

TELL_ENDED_TIMEOUT_S = 2.0  # the end goes on even if the guest's channel is stuck


@dataclass
class _Told:
    """What a guest was last told, so that one failure is told once."""

    error: str | None = None  # the recording error
    refusal: str | None = None  # the media refusal


class GuestMessenger:
    def __init__(self) -> None:
        self._told: dict[str, _Told] = {}  # by guest_id, while the guest is in the studio

    def add(self, guest: Guest) -> None:
        self._told[guest.guest_id] = _Told()

    def forget(self, guest: Guest) -> None:
        self._told.pop(guest.guest_id, None)

    def status(self, guest: Guest, force: bool = False) -> None:
        """Its recording state (the channel drops repeats unless forced), and a recording
        failure or media refusal it has not been told about yet."""
        if guest.control is None:
            return
        status = (guest.media.recording_status() if guest.media is not None else None) or {}
        recording = bool(status.get("recording"))
        path = status.get("path")
        guest.control.send_status(
            {"recording": recording, "file": Path(path).name if (recording and path) else None,
             "guest": guest.name},
            force=force,
        )
        # A guest already gone has nobody left to spare repeats.
        told = self._told.get(guest.guest_id) or _Told()
        error = status.get("error")
        if error and error != told.error:
            told.error = error
            self.error(guest, f"recording failed: {error}")
        refused = status.get("refused")
        if refused and refused != told.refusal:
            told.refusal = refused
            self.error(guest, f"the studio refused your media: {refused}")

    def error(self, guest: Guest, text: str) -> None:
        control = guest.control
        if control is None:
            return
        try:
            control.send_error(text)
        except Exception:  # the guest's software failing must not break the guest
            log.exception("sending an error to the guest failed")

    def channel_opened(self, guest: Guest) -> None:
        """What happened before the channel was open (e.g. the recording failed) is told now."""
        told = self._told.get(guest.guest_id) or _Told()
        told.error = told.refusal = None
        if guest.error:
            self.error(guest, guest.error)
            told.error = guest.error
        self.status(guest, force=True)

    async def end(self, guest: Guest, text: str) -> None:
        """Tell the guest the studio ended its session, before its connection closes."""
        if guest.control is None:
            return
        try:
            await asyncio.wait_for(guest.control.end(text), TELL_ENDED_TIMEOUT_S)
        except Exception:  # the guest is ended all the same
            log.debug("telling %r the session ended failed", guest.name, exc_info=True)
