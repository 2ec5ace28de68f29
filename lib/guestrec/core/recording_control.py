"""Starting and stopping guests' recordings: the studio's own (`media.GuestMedia`), the one
in the guest's browser (guest_side.py), or both; the session folder they go to
(session_folder.py), and the take a guest's recording continues after a drop
(continuity.py). Runs on the loop.

A session stays open while any of its recordings runs: a guest's studio recording, its
take while the guest is awaited back, a browser recording until its file is closed, and
OBS's own recording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..media.sidecar import link_next_file
from ..uploads.guest_uploads import GuestUploads
from .continuity import Continuity, Take
from .guest import Guest, GuestConfig
from .guest_messenger import GuestMessenger
from .guest_side import GuestSideRecordings, browser_key, record_at
from .guest_table import GuestTable
from .session_folder import SessionFolders

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")


def _session_key(guest: Guest) -> str:
    # One take stays in one session folder, whatever connections it took.
    return guest.continuity.key if guest.continuity is not None else guest.guest_id


class RecordingControl:
    def __init__(
        self,
        config: Callable[[], GuestConfig],
        guests: GuestTable,
        messenger: GuestMessenger,
        on_change: Callable[[], None],
    ) -> None:
        self._config = config  # the current settings: where and how long new files go
        self._guests = guests
        self._messenger = messenger
        self._on_change = on_change
        self._sessions = SessionFolders()
        self._guest_side = GuestSideRecordings()  # recordings made in guests' browsers
        # A guest's browser recording keeps its session open until its file is closed,
        # which can be well after the studio's own recording of that guest stopped.
        uploads = self._guest_side.uploads
        uploads.on_created = lambda upload: self._sessions.recording_started(browser_key(upload))
        uploads.on_closed = lambda upload: self._sessions.recording_ended(browser_key(upload))

    # -- the studio's requests ---------------------------------------------------

    async def start_recording(self, name: str | None = None) -> list[str]:
        """Start recording the guest of that name (every guest for None); the names started."""
        started = []
        for guest in self._guests.select(name):
            if guest.pc.connectionState == "connected" and self._start(guest):
                started.append(guest.name)
        return started

    async def stop_recording(self, name: str | None = None) -> list[str]:
        """Stop recording the guest of that name (every guest for None); the names stopped."""
        stopped = []
        for guest in self._guests.select(name):
            if self._guest_side.stop(guest) and not self.is_recording(guest):
                stopped.append(guest.name)  # recorded in the guest's browser only
                self._messenger.status(guest)
            elif guest.media is not None and self.is_recording(guest):
                try:
                    await guest.media.stop_recording()
                except Exception as exc:  # report, keep the guest
                    log.exception("stopping %r's recording failed", guest.name)
                    guest.fail(f"stopping the recording failed: {exc}")
                if guest.continuity is not None:
                    guest.continuity.take = None  # a later start is a new take
                stopped.append(guest.name)
                self._messenger.status(guest)
        if stopped:
            self._on_change()
        return stopped

    def obs_recording_changed(self, active: bool, out_dir: Path, path: str | None = None) -> None:
        """OBS's own recording started or stopped: it belongs to the session."""
        self._sessions.obs_recording(active, out_dir, path)

    def open_session_folder(self) -> Path | None:
        """The folder of the session open now, None between sessions."""
        return self._sessions.current

    def session_folder(self) -> Path | None:
        """The open session's folder, else the last one (None before any)."""
        return self._sessions.current or self._sessions.last_folder

    @property
    def uploads(self) -> GuestUploads:
        """The guests' browser recordings, for the routes their pages upload to."""
        return self._guest_side.uploads

    def recover_uploads(self, out_dir: Path) -> None:
        """Uploads from guests' browsers that a previous run did not finish carry on."""
        self._guest_side.uploads.recover(out_dir)

    async def close(self) -> None:
        await self._guest_side.uploads.close_all()

    # -- what happens to guests ----------------------------------------------------

    def is_recording(self, guest: Guest) -> bool:
        """Whether the studio records this guest now."""
        status = guest.media.recording_status() if guest.media is not None else None
        return bool(status and status.get("recording"))

    def media_up(self, guest: Guest) -> None:
        """The guest's media reached the studio: recorded if it should be, and told."""
        if self._records_on_arrival(guest):
            self._start(guest)
        self._messenger.status(guest)

    def media_changed(self, guest: Guest) -> None:
        """The guest's studio recording started, stopped, split or failed."""
        status = guest.media.recording_status() if guest.media is not None else None
        if status and status.get("error"):
            guest.fail(str(status["error"]))
        # A guest on its way out: how it ends decides whether its take (and with it the
        # session folder) goes on, see take_ended.
        if not guest.ended and not (status and status.get("recording")):
            self._sessions.recording_ended(_session_key(guest))
        self._link_parts(guest, status)
        self._messenger.status(guest)
        self._on_change()

    def channel_opened(self, guest: Guest) -> None:
        self._guest_side.send_wanted(guest)  # the page reapplies it after every reconnect

    def page_report(self, guest: Guest, message: dict[str, Any]) -> None:
        """What the guest's page says of its own recorder."""
        self._guest_side.on_report(guest, message)

    def guest_left(self, guest: Guest) -> None:
        self._guest_side.guest_left(guest)  # its page may still upload what it recorded

    def take_ended(self, continuity: Continuity) -> None:
        """No part of the guest's take is awaited any more: its session need not stay open."""
        self._sessions.recording_ended(continuity.key)

    def browser_status(self, guest: Guest) -> dict[str, Any]:
        """The recording in the guest's browser, for the guest's status."""
        return self._guest_side.status(guest)

    # -- starting ------------------------------------------------------------------

    @staticmethod
    def _records_on_arrival(guest: Guest) -> bool:
        # A returning guest goes on as it was: recorded again only if it was.
        take_goes_on = guest.continuity is not None and guest.continuity.take is not None
        return take_goes_on if guest.resumed else guest.config.auto_record

    def _start(self, guest: Guest) -> bool:
        """Start the guest's recordings (studio, browser or both); False when it cannot
        or already records."""
        where, current = record_at(guest.config), self._config()
        if where == "guest":
            try:
                folder = self._sessions.folder_for(Path(current.out_dir))
            except OSError as exc:
                self._record_failed(guest, f"cannot write the recording: {exc.strerror or exc}")
                return False
            return self._start_guest_side(guest, None, folder)
        if guest.media is None or self.is_recording(guest):
            return False
        # A guest back after a drop goes on with its take, as the take's next part.
        continuity = guest.continuity
        take = continuity.take if continuity is not None else None
        if take is None:
            take = Take()
            if continuity is not None:
                continuity.take = take
        try:
            # The plan stays the one this guest negotiated; folder and split may have moved.
            folder = self._sessions.folder_for(Path(current.out_dir))
            path = guest.media.start_recording(guest.config.plan, folder, current.split_minutes,
                                               take=take.next_part())
        except OSError as exc:
            self._record_failed(guest, f"cannot write the recording: {exc.strerror or exc}")
            return False
        except Exception as exc:  # one guest's trouble stays its own
            log.exception("guest %r: recording failed to start", guest.name)
            self._record_failed(guest, f"recording failed to start: {exc}")
            return False
        guest.recovered()
        if guest.screen_of is not None:
            self._sessions.link_screen(guest.name, guest.screen_of.name)
        self._sessions.recording_started(_session_key(guest))
        log.info("guest %r recording to %s", guest.name, path)
        if where == "both":
            self._start_guest_side(guest, path, folder)
        self._messenger.status(guest)
        self._on_change()
        return True

    def _start_guest_side(self, guest: Guest, studio_file: Path | None, folder: Path) -> bool:
        if self._guest_side.wanted(guest):
            return False
        try:
            self._guest_side.start(guest, studio_file, folder)  # or once its page channel opens
        except OSError as exc:
            self._record_failed(guest, f"cannot write the guest's recording: {exc.strerror or exc}")
            return False
        self._on_change()
        return self._guest_side.wanted(guest)

    def _record_failed(self, guest: Guest, error: str) -> None:
        guest.fail(error)
        log.error("guest %r: %s", guest.name, error)
        self._messenger.error(guest, error)
        self._on_change()

    @staticmethod
    def _link_parts(guest: Guest, status: dict[str, Any] | None) -> None:
        """Once a continued take's new part has its first file, the part before names it."""
        take = guest.continuity.take if guest.continuity is not None else None
        link = take.link_to_new_part(status) if take is not None else None
        if link is not None:
            asyncio.get_running_loop().run_in_executor(None, link_next_file, *link)
