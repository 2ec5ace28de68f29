"""What the control room sees and does: every guest (with its state word, its invite,
whether a picture of it exists, and whether it is on hold or hears the talkback), the
invites, the session folder's files, the export of the last session, and the operator's
actions on one guest or on the whole show. Runs on the loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..common.interfaces import OfferRejected
from ..core.director import Director, DirectorError
from ..export.background_export import BackgroundExport, ExportBusy
from ..export.errors import ExportError
from .access import StudioAccess
from .event_stream import ChangeSignal
from .guest_pictures import GuestPictures
from .invites import Invite, invite_link
from .public_status import public_status

UPLOADING_STATES = ("receiving", "finalizing")
# Talkback lasts while the operator holds its button: the page renews it every 1.5 s
# (control_talkback.js); one that goes away without letting go ends it after this long.
TALKBACK_LEASE_S = 4.0


class ControlError(ValueError):
    """An operator request that cannot be done; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def state_word(status: dict[str, Any]) -> str:
    """live, recording, uploading (the guest's browser recording still arriving),
    connecting, or reconnecting."""
    if status.get("returning"):
        return "reconnecting"
    if status.get("recording"):
        return "recording"
    upload = status.get("guest_recording") or {}
    if upload.get("state") in UPLOADING_STATES:
        return "uploading" if upload.get("wanted") or status.get("connected") else "finishing upload"
    return "live" if status.get("connected") else "connecting"


class ControlRoom:
    def __init__(
        self, roster: Any, director: Director, access: StudioAccess, pictures: GuestPictures,
        changes: ChangeSignal, link_base: Callable[[], str],
        session_open: Callable[[str], bool] = lambda session_id: False,
        returns: Any = None, exports: BackgroundExport | None = None,
    ) -> None:
        self.roster = roster
        self.director = director
        self.access = access
        self.pictures = pictures
        self.changes = changes
        self._link_base = link_base
        self._session_open = session_open
        self.returns = returns  # conversation.ReturnFeed; None: guests get no return here
        self.exports = exports if exports is not None else BackgroundExport()
        self._talkback_end: asyncio.TimerHandle | None = None

    # -- what it shows -------------------------------------------------------------

    def guests(self) -> list[dict[str, Any]]:
        invites = self._invites_in_use()
        rows = []
        for status in self.roster.guest_statuses():
            row = public_status(status)
            row["state"] = state_word(status)
            row["picture"] = self.pictures.frames_seen(status["name"]) > 0
            invite = invites.get(status["name"])
            row["invite"] = {"id": invite.id, "link": self.invite_link(invite)} if invite else None
            self._return_state(row)
            rows.append(row)
        for name in self.roster.awaiting_return():
            rows.append({"name": name, "state": "reconnecting", "returning": True,
                         "connected": False, "picture": False, "invite": None})
        return rows

    def _return_state(self, row: dict[str, Any]) -> None:
        """On hold, hearing the talkback: only where guests get a return."""
        if self.returns is not None:
            row["held"] = self.returns.held(row["name"])
            row["talkback"] = self.returns.talking_to == row["name"]

    def _invites_in_use(self) -> dict[str, Invite]:
        """Guest name -> the invite it is connected through (only those with a session
        open: the invites' count does not matter here)."""
        found = {}
        for holder, session in self.access.session_holders().items():
            invite = self.access.invite_of_holder(holder)
            if invite is not None and invite.guest and self._session_open(session):
                found[invite.guest] = invite
        return found

    def invite_link(self, invite: Invite) -> str:
        return invite_link(self._link_base(), invite)

    def invite_row(self, invite: Invite, now: float) -> dict[str, Any]:
        session = self.access.invite_session(invite.id)
        return {
            "id": invite.id, "name": invite.name, "link": self.invite_link(invite),
            "state": invite.state(now), "created": invite.created, "expires_at": invite.expires_at,
            "guest": invite.guest, "joins": invite.joins,
            "in_use": session is not None and self._session_open(session),
        }

    def invites(self) -> list[dict[str, Any]]:
        now = self.access.invites.now()
        return [self.invite_row(invite, now) for invite in self.access.invites.all()]

    def show(self) -> dict[str, Any]:
        statuses = self.roster.guest_statuses()
        folder = self.roster.session_folder()
        return {
            "guests": len(statuses), "recording": sum(bool(s.get("recording")) for s in statuses),
            "invite_only": self.access.invite_only, "session_folder": folder.name if folder else None,
        }

    def export_status(self) -> dict[str, Any]:
        """The last export (started here or in OBS): its state, progress and result."""
        return self.exports.status()

    def files(self) -> dict[str, Any]:
        """The session folder's files (the open session's, else the last one's)."""
        folder = self.roster.session_folder()
        if folder is None or not Path(folder).is_dir():
            return {"folder": None, "files": []}
        busy = self._busy_files()
        rows = []
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                rows.append({"name": entry.name, "bytes": entry.stat().st_size,
                             "state": busy.get(entry.name, "done")})
        rows.sort(key=lambda row: row["name"])
        return {"folder": Path(folder).name, "files": rows}

    def _busy_files(self) -> dict[str, str]:
        busy: dict[str, str] = {}
        for status in self.roster.guest_statuses():
            if status.get("recording") and status.get("file"):
                busy[Path(status["file"]).name] = "recording"
            upload = status.get("guest_recording") or {}
            if upload.get("state") in UPLOADING_STATES and upload.get("file"):
                busy[Path(upload["file"]).name] = "uploading"
        return busy

    # -- what it does --------------------------------------------------------------

    def _known(self, name: str) -> None:
        if self.roster.get(name) is None and name not in self.roster.awaiting_return():
            raise ControlError(f"no guest named {name!r}", 404)

    async def record(self, name: str | None, on: bool) -> list[str]:
        if name is not None:
            self._known(name)
        if on:
            return await self.roster.start_recording(name)
        return await self.roster.stop_recording(name)

    async def hang_up(self, name: str) -> None:
        """The studio closes the guest's connection itself (and tells its page first)."""
        self._known(name)
        try:
            await self.director.hang_up(name)
        except DirectorError as exc:
            raise ControlError(str(exc)) from None

    def ask_mute(self, name: str, mute: bool) -> None:
        self._ask(self.director.ask_mute, name, mute)

    def message(self, name: str, text: str) -> None:
        self._ask(self.director.message, name, text)

    def bitrate(self, name: str, kbps: int) -> int:
        return self._ask(self.director.set_video_bitrate, name, kbps)

    def _ask(self, request: Callable[..., Any], name: str, *args: Any) -> Any:
        self._known(name)
        try:
            return request(name, *args)
        except DirectorError as exc:
            raise ControlError(str(exc)) from None

    # -- the return feed: hold and talkback ---------------------------------------------

    def _return_feed(self) -> Any:
        if self.returns is None:
            raise ControlError("guests get no return feed from this studio (its return is off)")
        return self.returns

    def hold(self, name: str, on: bool) -> None:
        """On hold the guest hears nobody and nobody hears it (its recording goes on)."""
        self._known(name)
        self._return_feed().hold(name, on)
        self.changes.notify()

    def talkback(self, name: str, on: bool) -> bool:
        """While on (renewed within TALKBACK_LEASE_S), the studio's sound goes to `name`
        alone; False when there is no studio sound to send."""
        returns = self._return_feed()
        if not getattr(returns, "talkback_available", True):
            raise ControlError("talkback is not available for guests who come through the SFU: "
                               "Janus mixes what they hear")
        if not on:
            if returns.talking_to == name:
                self._talkback_over()
            return True
        self._known(name)
        if self._talkback_end is not None:
            self._talkback_end.cancel()
        sound = returns.talkback_to(name)
        self._talkback_end = asyncio.get_running_loop().call_later(TALKBACK_LEASE_S, self._talkback_over)
        self.changes.notify()
        return sound

    def _talkback_over(self) -> None:
        if self._talkback_end is not None:
            self._talkback_end.cancel()
            self._talkback_end = None
        if self.returns is not None and self.returns.talking_to is not None:
            self.returns.talkback_to(None)
            self.changes.notify()

    # -- export --------------------------------------------------------------------------

    def start_export(self, proxies: bool) -> dict[str, Any]:
        """The last session exported in the background, as OBS's button does."""
        loop = asyncio.get_running_loop()

        def line(text: str) -> None:  # on the export's thread: the streams show it at once
            try:
                loop.call_soon_threadsafe(self.changes.notify)
            except RuntimeError:  # the loop is closed: nobody watches any more
                pass

        try:
            out_dir = self.roster.current_config().out_dir
        except OfferRejected as exc:  # the settings are not usable: nor is their folder
            raise ControlError(exc.reason) from None
        try:
            job = self.exports.start_last(self.roster.session_folder(), out_dir, proxies=proxies,
                                          on_line=line)
        except ExportBusy as exc:
            raise ControlError(str(exc), 409) from None
        except ExportError as exc:
            raise ControlError(str(exc), 404) from None
        self.changes.notify()
        return job.as_dict()

    # -- invites -------------------------------------------------------------------------

    def make_invite(self, name: str, expires_s: float | None) -> dict[str, Any]:
        invite = self.access.invites.make(name, expires_s)
        self.changes.notify()
        return self.invite_row(invite, self.access.invites.now())

    async def revoke_invite(self, invite_id: str, hang_up: bool) -> dict[str, Any]:
        """Revoked at once; with `hang_up`, its guest still connected is ended too."""
        invite = self.access.invites.revoke(invite_id)
        if invite is None:
            raise ControlError("no such invite", 404)
        row = self.invite_row(invite, self.access.invites.now())
        if hang_up and row["in_use"] and row["guest"]:
            await self.hang_up(row["guest"])
        self.changes.notify()
        return row
