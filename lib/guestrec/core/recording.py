"""Starting and stopping guests' recordings: the roster's recording methods.

GuestRoster inherits them; they work on its guests, session folders and settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .continuity import Take
from .guest import Guest, GuestConfig
from .session_folder import SessionFolders

# The roster's own logger: these lines read as they did before the roster was split.
log = logging.getLogger(__package__ + ".roster")


class RosterRecording:
    """Mixed into GuestRoster."""

    if TYPE_CHECKING:
        _config: Callable[[], GuestConfig]
        sessions: SessionFolders

        def _select(self, guest: str | None) -> list[Guest]: ...
        def _send_status(self, entry: Guest, force: bool = False) -> None: ...
        def _send_error(self, entry: Guest, text: str) -> None: ...
        def _changed(self) -> None: ...
        @staticmethod
        def _session_key(entry: Guest) -> str: ...

    async def start_recording(self, guest: str | None = None) -> list[str]:
        started = []
        for entry in self._select(guest):
            if entry.pc.connectionState == "connected" and self._start(entry):
                started.append(entry.name)
        return started

    async def stop_recording(self, guest: str | None = None) -> list[str]:
        stopped = []
        for entry in self._select(guest):
            if entry.media is not None and self._recording(entry):
                try:
                    await entry.media.stop_recording()
                except Exception as exc:  # noqa: BLE001 - report, keep the guest
                    log.exception("stopping %r's recording failed", entry.name)
                    entry.error = f"stopping the recording failed: {exc}"
                if entry.continuity is not None:
                    entry.continuity.take = None  # a later start is a new take
                stopped.append(entry.name)
                self._send_status(entry)
        if stopped:
            self._changed()
        return stopped

    def _recording(self, entry: Guest) -> bool:
        status = entry.media.recording_status() if entry.media is not None else None
        return bool(status and status.get("recording"))

    def _start(self, entry: Guest) -> bool:
        """Start the guest's recording; False when it cannot or already records."""
        if entry.media is None or self._recording(entry):
            return False
        current = self._config()
        # A guest back after a drop goes on with its take, as the take's next part.
        continuity = entry.continuity
        take = continuity.take if continuity is not None else None
        if take is None:
            take = Take()
            if continuity is not None:
                continuity.take = take
        try:
            # The plan stays the one this guest negotiated; folder and split may have moved.
            folder = self.sessions.folder_for(Path(current.out_dir))
            path = entry.media.start_recording(entry.config.plan, folder, current.split_minutes,
                                               take=take.next_part())
        except OSError as exc:
            self._record_failed(entry, f"cannot write the recording: {exc.strerror or exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - one guest's trouble stays its own
            log.exception("guest %r: recording failed to start", entry.name)
            self._record_failed(entry, f"recording failed to start: {exc}")
            return False
        entry.error = None
        self.sessions.recording_started(self._session_key(entry))
        log.info("guest %r recording to %s", entry.name, path)
        self._send_status(entry)
        self._changed()
        return True

    def _record_failed(self, entry: Guest, error: str) -> None:
        entry.error = error
        log.error("guest %r: %s", entry.name, error)
        self._send_error(entry, error)
        self._changed()
