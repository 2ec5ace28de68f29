"""Guests who drop and come back, and guests the studio ends: the roster's methods for
what outlives one connection (see continuity.py).

A lost connection holds the guest's name, sink and take for its return; any other end
(the guest hangs up, the studio ends it or stops) ends them, the studio's own ends told to
the guest first so that its page does not try to come back. GuestRoster inherits these.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..media.sidecar import link_next_file
from .continuity import Continuity
from .guest import Guest
from .guest_names import GuestNames
from .session_folder import SessionFolders

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")

SERVER_STOPPED = "server stopped"
STUDIO_HUNG_UP = "hung up by the studio"
RECONNECTED = "replaced by its reconnection"
STUDIO_ENDED_TEXT = "The studio ended the session."
STUDIO_ENDS = {SERVER_STOPPED: STUDIO_ENDED_TEXT, STUDIO_HUNG_UP: STUDIO_ENDED_TEXT}
# Ends after which the guest may come back into its name, sink and take.
LOST = {"connection failed", "connection closed", "never connected", RECONNECTED}
TELL_ENDED_TIMEOUT_S = 2.0  # the end goes on even if the guest's channel is stuck


class RosterReturns:
    """Mixed into GuestRoster."""

    if TYPE_CHECKING:
        _names: GuestNames
        _closing: bool
        sessions: SessionFolders

        def get(self, name: str) -> Guest | None: ...
        async def finish(self, guest: Guest, reason: str) -> None: ...
        def _changed(self) -> None: ...

    async def hang_up(self, name: str) -> bool:
        """The studio ends a guest: it is told, and does not come back on its own. Also
        ends a dropped guest's wait for its return. False for an unknown name."""
        guest = self.get(name)
        if guest is not None:
            await self.finish(guest, STUDIO_HUNG_UP)
            return True
        return self._names.returning.drop(name) is not None

    def forget_return(self, continuity: Continuity) -> None:
        """A dropped guest said it left for good (e.g. its late DELETE): its name is free."""
        self._names.forget(continuity)

    def awaiting_return(self) -> list[str]:
        """Names of dropped guests whose names and sources wait for their return."""
        return self._names.returning.names()

    async def _tell_ended(self, entry: Guest, text: str) -> None:
        """Tell the guest the studio ended its session, before its connection closes."""
        if entry.control is None:
            return
        try:
            await asyncio.wait_for(entry.control.end(text), TELL_ENDED_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the guest is ended all the same
            log.debug("telling %r the session ended failed", entry.name, exc_info=True)

    def _keep_or_end(self, entry: Guest, reason: str, was_recording: bool) -> None:
        """After a lost connection, hold the guest's name, sink and take for its return;
        after any other end, end them."""
        continuity = entry.continuity
        if continuity is None:
            return
        status = entry.media.recording_status() if entry.media is not None else None
        continuity.connection_ended(status, went_on_record=was_recording or not entry.connected_once)
        if reason in LOST and (entry.connected_once or entry.resumed) and not self._closing:
            self._names.returning.hold(continuity)
            if continuity.take is None:
                self.sessions.recording_ended(continuity.key)
        else:
            continuity.end()
            self.sessions.recording_ended(continuity.key)

    def _return_ended(self, continuity: Continuity) -> None:
        """A dropped guest's wait ended without its return (or the studio ended it)."""
        self.sessions.recording_ended(continuity.key)
        self._changed()

    @staticmethod
    def _session_key(entry: Guest) -> str:
        # One take stays in one session folder, whatever connections it took.
        return entry.continuity.key if entry.continuity is not None else entry.guest_id

    def _link_parts(self, entry: Guest, status: dict[str, Any] | None) -> None:
        """Once a continued take's new part has its first file, the part before names it."""
        take = entry.continuity.take if entry.continuity is not None else None
        link = take.link_to_new_part(status) if take is not None else None
        if link is not None:
            asyncio.get_running_loop().run_in_executor(None, link_next_file, *link)
