"""Every guest the studio has, whatever ingest brought it: the guest core's one entry point
for ingests and the engine.

An ingest reserves a name, makes its peer connection and calls `admit` before it applies
the remote description (so no track event is missed). The core then wires the
connection: tracks go to a `media.GuestMedia`, which records them and feeds the sink; the
sink (in OBS: the guest's source) is made when the connection comes up; a guest whose
connection fails or closes, or that never connects, is finished: recording finalized,
guest removed, and the ingest's `on_finished` called.

A guest whose connection was lost keeps its name, sink and take for a while (see
continuity.py): `claim_name` with its resume secret brings it back into them, its
recording continuing as the next part of the take. A guest that hangs up, or that the
studio ends (`hang_up`, `close_all`), is gone at once: its sink is told, and the studio's
end is announced to the guest first.

The roster only composes the parts (see __init__.py) and passes each the few others it
reports to.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection

from ..common.interfaces import GuestSink, OfferRejected
from ..uploads.guest_uploads import GuestUploads
from .admission import MAX_GUESTS, decide
from .continuity import Continuity
from .guest import Guest, GuestConfig, GuestControl
from .guest_lifecycle import FinishedFn, GuestLifecycle, call_quietly
from .guest_messenger import GuestMessenger
from .guest_names import GuestNames
from .guest_table import GuestTable
from .liveness import quicken_consent_checks
from .recording_control import RecordingControl
from .status_view import StatusView

log = logging.getLogger(__name__)


class GuestRoster:
    """Runs on the loop."""

    def __init__(
        self,
        config: Callable[[], GuestConfig],
        sink_factory: Callable[[str], GuestSink | None] | None = None,
        on_change: Callable[[], None] | None = None,
        max_guests: int = MAX_GUESTS,
    ) -> None:
        self._config = config
        self.max_guests = max_guests
        self._on_change = on_change
        self._guests = GuestTable()
        messenger = GuestMessenger()
        self._recordings = RecordingControl(config, self._guests, messenger, self._changed)
        self._names = GuestNames(on_return_ended=self._return_ended)
        self._lifecycle = GuestLifecycle(
            self._guests, self._names, self._recordings, messenger, sink_factory, self._changed)
        self._status = StatusView(self._guests, self._recordings)
        quicken_consent_checks()

    # -- admission -----------------------------------------------------------------

    def current_config(self) -> GuestConfig:
        """A copy of the settings for a new guest; it keeps them even if they change later.
        Raises OfferRejected (503) when the studio's settings cannot take guests."""
        try:
            return dataclasses.replace(self._config())
        except Exception as exc:  # noqa: BLE001 - e.g. a record value the plan refuses
            log.error("cannot take guests with the current settings: %s", exc)
            raise OfferRejected(f"the studio's record settings are invalid: {exc}", 503) from None

    def check_capacity(self, peer: str | None = None) -> None:
        """Raises OfferRejected (503) when an offer from `peer` cannot be taken now: too
        many guests, or too many still connecting (see admission.py)."""
        # A dropped guest waiting for its return takes no slot, only its name.
        decide(self._guests, self._names.pending_count, peer, max_guests=self.max_guests)

    async def make_room(self, peer: str | None = None) -> None:
        """As check_capacity, but a pending guest that had its time gives way."""
        decision = decide(self._guests, self._names.pending_count, peer, max_guests=self.max_guests)
        if decision.evict is not None:
            await self._lifecycle.evict(decision.evict)

    def reserve_name(self, requested: str) -> str:
        """The guest's display name, with " 2", " 3"... when another guest (or a dropped
        one waiting for its return) has it; held until `admit` or `release_name`."""
        return self._names.reserve(requested, self._guests.names())

    def resuming(self, name: str) -> bool:
        """Whether `name` came from `claim_name` for a returning guest."""
        return self._names.resuming(name)

    async def claim_name(self, requested: str, resume_secret: str | None) -> str:
        """Like `reserve_name`, but a guest coming back with its resume secret gets its
        own name (and with `admit`, its sink and take) back. Any other secret, or none,
        gets a fresh name."""
        if resume_secret:
            name = await self._lifecycle.claim_name(requested, resume_secret)
            if name is not None:
                return name
        return self.reserve_name(requested)

    def release_name(self, name: str) -> None:
        self._names.release(name)

    def admit(
        self,
        name: str,
        pc: RTCPeerConnection,
        *,
        client: str,
        config: GuestConfig,
        control: GuestControl | None = None,
        dtls_failure_hint: str | None = None,
        on_finished: FinishedFn | None = None,
        peer: str | None = None,
        secret: str | None = None,
        screen_of: Continuity | None = None,
    ) -> Guest:
        """Take a guest in: wire its connection and start its connect watchdog. `secret`:
        the resume secret a new guest gets, when its ingest handed one out already.
        `screen_of`: this guest is the screen share of the guest with that continuity
        (see screen_shares.py)."""
        return self._lifecycle.admit(
            name, pc, client=client, config=config, control=control,
            dtls_failure_hint=dtls_failure_hint, on_finished=on_finished, peer=peer, secret=secret,
            screen_of=screen_of)

    # -- guests --------------------------------------------------------------------

    def get(self, name: str) -> Guest | None:
        return self._guests.get(name)

    def set_extra_status(self, guest: Guest, **fields: Any) -> None:
        """Ingest-specific facts shown in the guest's status (e.g. its own recorder)."""
        guest.extra_status.update(fields)
        self._changed()

    def guest_statuses(self) -> list[dict[str, Any]]:
        return self._status.statuses()

    async def finish(self, guest: Guest, reason: str) -> None:
        """Finalize the recording, tell the sink, close the connection; once per guest."""
        await self._lifecycle.finish(guest, reason)

    async def hang_up(self, name: str) -> bool:
        """The studio ends a guest: it is told, and does not come back on its own. Also
        ends a dropped guest's wait for its return. False for an unknown name."""
        return await self._lifecycle.hang_up(name)

    async def close_all(self) -> None:
        await self._lifecycle.close_all()
        await self._recordings.close()

    def forget_return(self, continuity: Continuity) -> None:
        """A dropped guest said it left for good (e.g. its late DELETE): its name is free."""
        self._names.forget(continuity)

    def awaiting_return(self) -> list[str]:
        """Names of dropped guests whose names and sources wait for their return."""
        return self._names.returning.names()

    # -- recordings ----------------------------------------------------------------

    async def start_recording(self, guest: str | None = None) -> list[str]:
        """Start recording the guest of that name (every guest for None); the names started."""
        return await self._recordings.start_recording(guest)

    async def stop_recording(self, guest: str | None = None) -> list[str]:
        """Stop recording the guest of that name (every guest for None); the names stopped."""
        return await self._recordings.stop_recording(guest)

    def obs_recording_changed(self, active: bool, out_dir: Path, path: str | None = None) -> None:
        """OBS's own recording started or stopped (`path`: its file, when known)."""
        self._recordings.obs_recording_changed(active, out_dir, path)

    def session_folder(self) -> Path | None:
        """The open session's folder, else the last one (None before any)."""
        return self._recordings.session_folder()

    def open_session_folder(self) -> Path | None:
        """The folder of the session open now, None between sessions."""
        return self._recordings.open_session_folder()

    @property
    def uploads(self) -> GuestUploads:
        """The guests' browser recordings, for the routes their pages upload to."""
        return self._recordings.uploads

    def recover_uploads(self, out_dir: Path) -> None:
        """Uploads from guests' browsers that a previous run did not finish carry on."""
        self._recordings.recover_uploads(out_dir)

    # -- notifications -------------------------------------------------------------

    def _return_ended(self, continuity: Continuity) -> None:
        """A dropped guest's wait ended without its return (or the studio ended it)."""
        self._recordings.take_ended(continuity)
        self._lifecycle.end_screens_of(continuity)
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            call_quietly("on_change", self._on_change)
