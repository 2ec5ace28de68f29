"""The operator's side of the studio, kept for the engine's whole life (across restarts
of the HTTP server): the roles (guest token, operator key, invites), the guests' latest
pictures, the export an operator starts, and the signal that wakes the control room's
event streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..export.background_export import BackgroundExport
from .access import StudioAccess
from .event_stream import ChangeSignal
from .guest_pictures import GuestPictures, LatestFrame
from .invites import Invites, invite_link
from .settings import EngineSettings

if TYPE_CHECKING:
    from .control_room import ControlRoom


class ControlDesk:
    def __init__(self, settings: EngineSettings, exports: BackgroundExport | None = None) -> None:
        """`exports`: shared with whoever else starts exports (OBS's panel), else our own."""
        self.access = StudioAccess(settings.token, settings.operator_key,
                                   Invites(settings.invites_file), settings.invite_only)
        self.pictures = GuestPictures()
        self.changes = ChangeSignal()
        self._own_exports = exports is None
        self.exports = exports if exports is not None else BackgroundExport()

    def configure(self, settings: EngineSettings) -> None:
        self.access.configure(settings.token, settings.operator_key, settings.invite_only)

    def sink_for(self, guest: str) -> LatestFrame:
        """The guest's picture keeper, one more sink beside its OBS source."""
        return self.pictures.sink_for(guest)

    def room(self, roster: Any, director: Any, ingest: Any,
             link_base: Callable[[], str], returns: Any = None) -> ControlRoom:
        """The control room over the running guests (made on the loop, where the guest
        core is imported); `returns`: the return feed, for hold and talkback."""
        from .control_room import ControlRoom

        session_open = getattr(ingest, "has_session", None) or (lambda session_id: False)
        return ControlRoom(roster, director, self.access, self.pictures, self.changes,
                           link_base, session_open, returns=returns, exports=self.exports)

    def stop_own_export(self, timeout: float = 3.0) -> None:
        """A running export of our own stops (one shared with OBS is OBS's to stop)."""
        if self._own_exports:
            self.exports.close(timeout)

    def make_invite(self, name: str, expires_s: float | None, base_url: str,
                    loop: asyncio.AbstractEventLoop | None) -> str:
        """A new invite's link (any thread); raises InviteError. Open control rooms learn
        of it at once."""
        invite = self.access.invites.make(name, expires_s)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.changes.notify)
        return invite_link(base_url, invite)

    def secrets(self) -> list[str]:
        return self.access.secrets()
