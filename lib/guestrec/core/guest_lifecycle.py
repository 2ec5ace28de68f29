"""A guest from its admission to its end: its connection wired (connection_wiring.py), its
control channel answered, given up when it never connects, and finished once: told when
the studio ends it, its connection closed, its recording finalized, and its name, sink
and take either held for its return after a lost connection (continuity.py) or ended.
Runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from ..common.interfaces import GuestSink
from ..common.names import display_name
from .connection_wiring import ConnectionWiring, ice_failure
from .continuity import Continuity, secret_matches
from .end_reasons import (
    LOST,
    NEVER_CONNECTED,
    OWNER_LEFT,
    RECONNECTED,
    SERVER_STOPPED,
    STUDIO_ENDS,
    STUDIO_HUNG_UP,
)
from .guest import Guest, GuestConfig, GuestControl
from .guest_messenger import GuestMessenger
from .guest_names import GuestNames
from .guest_side import REPORT_TYPE
from .guest_table import GuestTable
from .recording_control import RecordingControl
from .screen_shares import screens_of

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")

# A guest that has not connected by then is given up (ICE or DTLS never completed).
CONNECT_TIMEOUT_S = 30.0

FinishedFn = Callable[[Guest, str], None]


def call_quietly(what: str, fn: Callable[[], Any]) -> None:
    """Call a sink or listener; their failures must not break a guest."""
    try:
        fn()
    except Exception:  # a third party's bug is logged, not spread
        log.exception("%s failed", what)


class GuestLifecycle:
    def __init__(
        self,
        guests: GuestTable,
        names: GuestNames,
        recordings: RecordingControl,
        messenger: GuestMessenger,
        sink_factory: Callable[[str], GuestSink | None] | None,
        on_change: Callable[[], None],
    ) -> None:
        self._guests = guests
        self._names = names
        self._recordings = recordings
        self._messenger = messenger
        self._on_change = on_change
        self._wiring = ConnectionWiring(
            sink_factory, on_media_up=recordings.media_up, on_lost=self._lost,
            on_recording_change=recordings.media_changed, on_change=on_change)
        self._finished_listeners: dict[str, FinishedFn] = {}  # by guest_id
        self._watchdogs: dict[str, asyncio.Task] = {}  # by guest_id, until it connects
        self._connecting: set[asyncio.Task] = set()  # guests admitted with their connection up
        self._closing = False

    # -- coming in -----------------------------------------------------------------

    def admit(
        self, name: str, pc: RTCPeerConnection, *, client: str, config: GuestConfig,
        control: GuestControl | None, dtls_failure_hint: str | None,
        on_finished: FinishedFn | None, peer: str | None, secret: str | None,
        screen_of: Continuity | None = None,
    ) -> Guest:
        """Take a guest in (back into what it had, when `name` was claimed by its resume
        secret): wire its connection and start its connect watchdog."""
        continuity = self._names.admitted(name)
        fresh = Continuity(name=name, secret=secret) if secret else Continuity(name=name)
        guest = Guest(name=name, pc=pc, config=config, client=client, control=control,
                      dtls_failure_hint=dtls_failure_hint, peer=peer,
                      continuity=continuity or fresh, resumed=continuity is not None,
                      screen_of=screen_of)
        if continuity is not None:
            continuity.parts += 1
            guest.sink = continuity.sink
            log.info("guest %r is back (connection %d)", name, continuity.parts)
        self._guests.add(guest)
        self._messenger.add(guest)
        if on_finished is not None:
            self._finished_listeners[guest.guest_id] = on_finished
        self._wiring.wire(guest)
        if control is not None:
            control.bind(on_open=lambda: self._channel_opened(guest),
                         on_message=lambda message: self._message_from(guest, message))
        self._watchdogs[guest.guest_id] = asyncio.ensure_future(self._connect_watchdog(guest))
        if pc.connectionState == "connected":
            # An ingest that learns the guest's name on the connection admits it once up.
            task = asyncio.ensure_future(self._wiring.connected(guest))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        self._on_change()
        return guest

    async def claim_name(self, requested: str, resume_secret: str) -> str | None:
        """The dropped guest's own name when the secret is its own, else None. A live guest
        of that name with that secret is the same guest, back before its dead connection
        was noticed: it is ended first."""
        live = self._guests.named_alike(display_name(requested))
        if live is not None and live.continuity is not None and secret_matches(
                resume_secret, live.continuity.secret):
            await self.finish(live, RECONNECTED)
        return self._names.claim(requested, resume_secret)

    def _channel_opened(self, guest: Guest) -> None:
        self._messenger.channel_opened(guest)
        self._recordings.channel_opened(guest)

    def _message_from(self, guest: Guest, message: dict[str, Any]) -> None:
        if message.get("type") == REPORT_TYPE:
            self._recordings.page_report(guest, message)
            return
        if message.get("type") == "state":
            # What the guest did on its side (self-mute, camera off), for the studio's view.
            guest.page_state = {k: bool(v) for k, v in message.items()
                                if k in ("muted", "camera_off") and isinstance(v, bool)}
            self._on_change()
        # Whatever the guest asked, it gets the current state (e.g. after its UI rebuilt).
        self._messenger.status(guest, force=True)

    async def _connect_watchdog(self, guest: Guest) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        self._watchdogs.pop(guest.guest_id, None)  # finishing must not cancel the task that asks for it
        if not guest.connected_once and guest in self._guests:
            guest.fail(ice_failure(guest, f"did not connect within {CONNECT_TIMEOUT_S:.0f} s"),
                       unless_failed=True)
            await self.finish(guest, NEVER_CONNECTED)

    # -- going out -----------------------------------------------------------------

    async def evict(self, guest: Guest) -> None:
        """A pending guest that had its time gives its place to a new one."""
        guest.fail("did not connect in time; its place went to a new guest", unless_failed=True)
        await self.finish(guest, NEVER_CONNECTED)

    async def hang_up(self, name: str) -> bool:
        """The studio ends a guest: it is told, and does not come back on its own. Also
        ends a dropped guest's wait for its return. False for an unknown name."""
        guest = self._guests.get(name)
        if guest is not None:
            await self.finish(guest, STUDIO_HUNG_UP)
            return True
        return self._names.returning.drop(name) is not None

    async def finish(self, guest: Guest, reason: str) -> None:
        """Finalize the recording, tell the sink, close the connection; once per guest."""
        await asyncio.shield(self._begin_finish(guest, reason))

    async def close_all(self) -> None:
        """Finish every guest and end every wait for a return: the studio stops."""
        self._closing = True
        try:
            await asyncio.gather(
                *(self.finish(g, SERVER_STOPPED) for g in self._guests), return_exceptions=True)
        finally:
            self._names.returning.drop_all()

    def end_screens_of(self, owner: Continuity) -> None:
        """The owner is gone for good: its screen shares end with it."""
        for screen in screens_of(self._guests, owner):
            self._begin_finish(screen, OWNER_LEFT)

    def _lost(self, guest: Guest, reason: str) -> None:
        if guest.finishing is None and guest in self._guests:
            self._begin_finish(guest, reason)

    def _begin_finish(self, guest: Guest, reason: str) -> asyncio.Task:
        """The guest's one finishing task (the first reason given stays)."""
        if guest.finishing is None:
            guest.finishing = asyncio.ensure_future(self._finish_once(guest, reason))
        return guest.finishing

    async def _finish_once(self, guest: Guest, reason: str) -> None:
        if (not guest.connected_once and not guest.error and guest.ice_offered
                and reason != RECONNECTED):
            # e.g. the guest's page gave up waiting for media and hung up (a try to come
            # back that the next try replaced is no such failure)
            guest.fail(ice_failure(guest, "the media connection never came up"))
        if guest.error:
            log.warning("guest %r leaves: %s: %s", guest.name, reason, guest.error)
        else:
            log.info("guest %r leaves: %s", guest.name, reason)
        watchdog = self._watchdogs.pop(guest.guest_id, None)
        if watchdog is not None:
            watchdog.cancel()
        self._recordings.guest_left(guest)
        try:
            if reason in STUDIO_ENDS:
                await self._messenger.end(guest, STUDIO_ENDS[reason])
            was_recording = self._recordings.is_recording(guest)
            await self._release(guest)
            self._hold_or_end(guest, reason, was_recording)
        finally:
            self._guests.remove(guest)
            self._messenger.forget(guest)
            listener = self._finished_listeners.pop(guest.guest_id, None)
            if listener is not None:
                call_quietly("on_finished", lambda: listener(guest, reason))
            self._on_change()

    async def _release(self, guest: Guest) -> None:
        # Stop receiving first, then finalize what arrived. GuestMedia.close() tells the
        # guest's LastingSink, which passes it on only when the guest is gone for good.
        try:
            await guest.pc.close()
        except Exception:
            log.exception("closing %r's peer connection failed", guest.name)
        finally:
            # Also when a shutdown out of time cancels us mid-close: the recording must
            # still be finalized and its writer thread ended.
            if guest.media is not None:
                try:
                    await guest.media.close()
                except Exception:
                    log.exception("finalizing %r's recording failed", guest.name)
            if guest.blackhole is not None:
                await guest.blackhole.stop()

    def _hold_or_end(self, guest: Guest, reason: str, was_recording: bool) -> None:
        """After a lost connection, hold the guest's name, sink and take for its return;
        after any other end, end them."""
        continuity = guest.continuity
        if continuity is None:
            return
        status = guest.media.recording_status() if guest.media is not None else None
        continuity.connection_ended(status, went_on_record=was_recording or not guest.connected_once)
        # A screen share is not held: its page shares again instead.
        held = (reason in LOST and (guest.connected_once or guest.resumed) and not self._closing
                and guest.screen_of is None)
        if held:
            self._names.returning.hold(continuity)
        else:
            continuity.end()
            self.end_screens_of(continuity)
        if not held or continuity.take is None:
            self._recordings.take_ended(continuity)
