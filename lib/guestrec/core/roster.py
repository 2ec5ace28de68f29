"""Every guest the studio has, whatever ingest brought it: media, recording, sink, status.

An ingest reserves a name, makes its peer connection and calls `admit` before it applies
the remote description (so no track event is missed). The roster then wires the
connection: tracks go to a `media.GuestMedia`, which records them and feeds the sink; the
sink (in OBS: the guest's source) is made when the connection comes up; a guest whose
connection fails or closes, or that never connects, is finished: recording finalized,
guest removed, and the ingest's `on_finished` called.

A guest whose connection was lost keeps its name, sink and take for a while (see
continuity.py and returns.py): `claim_name` with its resume secret brings it back into
them, its recording continuing as the next part of the take. A guest that hangs up, or
that the studio ends (`hang_up`, `close_all`), is gone at once: its sink is told, and the
studio's end is announced to the guest first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection

from ..common.interfaces import GuestSink, OfferRejected
from ..common.names import display_name
from .admission import MAX_GUESTS, decide
from .continuity import Continuity, secret_matches
from .guest import Guest, GuestConfig, GuestControl
from .guest_names import GuestNames
from .guest_side import GuestSideRecordings, browser_key
from .liveness import quicken_consent_checks
from .recording import RosterRecording
from .returns import RECONNECTED, SERVER_STOPPED, STUDIO_ENDS, RosterReturns
from .session_folder import SessionFolders
from .status import RosterStatus
from .wiring import RosterWiring

log = logging.getLogger(__name__)

# A guest that has not connected by then is given up (ICE or DTLS never completed).
CONNECT_TIMEOUT_S = 30.0

FinishedFn = Callable[[Guest, str], None]


def _call_quietly(what: str, fn: Callable[[], Any]) -> None:
    """Call a sink or listener; their failures must not break a guest."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - a third party's bug is logged, not spread
        log.exception("%s failed", what)


class GuestRoster(RosterWiring, RosterRecording, RosterStatus, RosterReturns):
    """The guest core's entry point for ingests and the engine. Runs on the loop.
    Peer connection events, recording start/stop, status building and dropped guests'
    returns are inherited (core/wiring.py, core/recording.py, core/status.py,
    core/returns.py)."""

    def __init__(
        self,
        config: Callable[[], GuestConfig],
        sink_factory: Callable[[str], GuestSink | None] | None = None,
        on_change: Callable[[], None] | None = None,
        max_guests: int = MAX_GUESTS,
    ) -> None:
        self._config = config
        self.max_guests = max_guests
        self._sink_factory = sink_factory
        self._on_change = on_change
        self._guests: dict[str, Guest] = {}  # by guest_id
        self._finished_listeners: dict[str, FinishedFn] = {}
        self.guest_side = GuestSideRecordings()  # recordings made in guests' browsers
        self.sessions = SessionFolders()
        # A guest's browser recording keeps its session open until its file is closed,
        # which can be well after the studio's own recording of that guest stopped.
        uploads = self.guest_side.uploads
        uploads.on_created = lambda upload: self.sessions.recording_started(browser_key(upload))
        uploads.on_closed = lambda upload: self.sessions.recording_ended(browser_key(upload))
        self._names = GuestNames(on_return_ended=self._return_ended)
        self._closing = False
        quicken_consent_checks()

    # -- admission ------------------------------------------------------------

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
        decide(self._guests.values(), self._names.pending_count, peer, max_guests=self.max_guests)

    async def make_room(self, peer: str | None = None) -> None:
        """As check_capacity, but a pending guest that had its time gives way."""
        decision = decide(self._guests.values(), self._names.pending_count, peer, max_guests=self.max_guests)
        if decision.evict is not None:
            stale = decision.evict
            stale.error = stale.error or "did not connect in time; its place went to a new guest"
            await self.finish(stale, "never connected")

    def reserve_name(self, requested: str) -> str:
        """The guest's display name, with " 2", " 3"... when another guest (or a dropped
        one waiting for its return) has it; held until `admit` or `release_name`."""
        return self._names.reserve(requested, (g.name for g in self._guests.values()))

    def resuming(self, name: str) -> bool:
        """Whether `name` came from `claim_name` for a returning guest."""
        return self._names.resuming(name)

    async def claim_name(self, requested: str, resume_secret: str | None) -> str:
        """Like `reserve_name`, but a guest coming back with its resume secret gets its
        own name (and with `admit`, its sink and take) back. A live guest of that name with
        that secret is the same guest, back before its dead connection was noticed: it is
        ended first. Any other secret, or none, gets a fresh name."""
        if resume_secret:
            wanted = display_name(requested).casefold()
            live = next((g for g in self._guests.values() if g.name.casefold() == wanted), None)
            if live is not None and live.continuity is not None and secret_matches(
                    resume_secret, live.continuity.secret):
                await self.finish(live, RECONNECTED)
            name = self._names.claim(requested, resume_secret)
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
    ) -> Guest:
        """Take a guest in: wire its connection and start its connect watchdog. `secret`:
        the resume secret a new guest gets, when its ingest handed one out already."""
        continuity = self._names.admitted(name)
        fresh = Continuity(name=name, secret=secret) if secret else Continuity(name=name)
        guest = Guest(name=name, pc=pc, config=config, client=client, control=control,
                      dtls_failure_hint=dtls_failure_hint, peer=peer,
                      continuity=continuity or fresh, resumed=continuity is not None)
        if continuity is not None:
            continuity.parts += 1
            guest.sink = continuity.sink
            log.info("guest %r is back (connection %d)", name, continuity.parts)
        self._guests[guest.guest_id] = guest
        if on_finished is not None:
            self._finished_listeners[guest.guest_id] = on_finished
        self._wire(guest)
        if control is not None:
            control.bind(on_open=lambda: self._control_opened(guest),
                         on_message=lambda message: self._control_message(guest, message))
        guest.watchdog = asyncio.ensure_future(self._connect_watchdog(guest))
        if pc.connectionState == "connected":
            # An ingest that learns the guest's name on the connection admits it once up.
            asyncio.ensure_future(self._on_connected(guest))
        self._changed()
        return guest

    def set_extra_status(self, guest: Guest, **fields: Any) -> None:
        """Ingest-specific facts shown in the guest's status (e.g. its own recorder)."""
        guest.extra_status.update(fields)
        self._changed()

    def get(self, name: str) -> Guest | None:
        return next((g for g in self._guests.values() if g.name == name), None)

    # -- the engine's API -----------------------------------------------------

    async def finish(self, guest: Guest, reason: str) -> None:
        """Finalize the recording, tell the sink, close the connection; once per guest."""
        if guest.finishing is None:
            guest.finishing = asyncio.ensure_future(self._do_finish(guest, reason))
        await asyncio.shield(guest.finishing)

    async def close_all(self) -> None:
        self._closing = True
        try:
            await asyncio.gather(
                *(self.finish(g, SERVER_STOPPED) for g in list(self._guests.values())),
                return_exceptions=True,
            )
        finally:
            self._names.returning.drop_all()
        await self.guest_side.uploads.close_all()

    # -- connect watchdog ----------------------------------------------------

    async def _connect_watchdog(self, entry: Guest) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        entry.watchdog = None  # finishing must not cancel the task that asks for it
        if not entry.connected_once and entry.guest_id in self._guests:
            entry.error = entry.error or self._ice_failure(
                entry, f"did not connect within {CONNECT_TIMEOUT_S:.0f} s")
            await self.finish(entry, "never connected")

    # -- telling the guest ----------------------------------------------------

    def _send_status(self, entry: Guest, force: bool = False) -> None:
        if entry.control is None:
            return
        status = entry.media.recording_status() if entry.media is not None else None
        recording = bool(status and status.get("recording"))
        path = status.get("path") if status else None
        entry.control.send_status(
            {"recording": recording, "file": Path(path).name if (recording and path) else None,
             "guest": entry.name},
            force=force,
        )
        error = (status or {}).get("error")
        if error and error != entry.last_error_sent:
            entry.last_error_sent = error
            self._send_error(entry, f"recording failed: {error}")
        refused = (status or {}).get("refused")
        if refused and refused != entry.refusal_sent:
            entry.refusal_sent = refused
            self._send_error(entry, f"the studio refused your media: {refused}")

    def _send_error(self, entry: Guest, text: str) -> None:
        if entry.control is not None:
            _call_quietly("sending an error to the guest", lambda: entry.control.send_error(text))

    # -- finishing ------------------------------------------------------------

    def _schedule_finish(self, entry: Guest, reason: str) -> None:
        if entry.finishing is None and entry.guest_id in self._guests:
            asyncio.ensure_future(self.finish(entry, reason))

    async def _do_finish(self, entry: Guest, reason: str) -> None:
        if (not entry.connected_once and not entry.error and entry.ice_offered
                and reason != RECONNECTED):
            # e.g. the guest's page gave up waiting for media and hung up (a try to come
            # back that the next try replaced is no such failure)
            entry.error = self._ice_failure(entry, "the media connection never came up")
        if entry.error:
            log.warning("guest %r leaves: %s: %s", entry.name, reason, entry.error)
        else:
            log.info("guest %r leaves: %s", entry.name, reason)
        if entry.watchdog is not None:
            entry.watchdog.cancel()
        self.guest_side.guest_left(entry)  # its page may still upload what it recorded
        try:
            if reason in STUDIO_ENDS:
                await self._tell_ended(entry, STUDIO_ENDS[reason])
            was_recording = self._recording(entry)
            await self._release(entry)
            self._keep_or_end(entry, reason, was_recording)
        finally:
            self._guests.pop(entry.guest_id, None)
            listener = self._finished_listeners.pop(entry.guest_id, None)
            if listener is not None:
                _call_quietly("on_finished", lambda: listener(entry, reason))
            self._changed()

    async def _release(self, entry: Guest) -> None:
        # Stop receiving first, then finalize what arrived. GuestMedia.close() tells the
        # guest's LastingSink, which passes it on only when the guest is gone for good.
        try:
            await entry.pc.close()
        except Exception:  # noqa: BLE001
            log.exception("closing %r's peer connection failed", entry.name)
        finally:
            # Also when a shutdown out of time cancels us mid-close: the recording must
            # still be finalized and its writer thread ended.
            if entry.media is not None:
                try:
                    await entry.media.close()
                except Exception:  # noqa: BLE001
                    log.exception("finalizing %r's recording failed", entry.name)
            if entry.blackhole is not None:
                await entry.blackhole.stop()

    def _changed(self) -> None:
        if self._on_change is not None:
            _call_quietly("on_change", self._on_change)
