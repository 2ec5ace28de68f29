"""Every guest the studio has, whatever ingest brought it: media, recording, sink, status.

An ingest reserves a name, makes its peer connection and calls `admit` before it applies
the remote description (so no track event is missed). The roster then wires the
connection: tracks go to a `media.GuestMedia`, which records them and feeds the sink; the
sink (in OBS: the guest's source) is made when the connection comes up; a guest whose
connection fails or closes, or that never connects, is finished: recording finalized,
guest removed, and the ingest's `on_finished` called.

A guest whose connection was lost keeps its name, sink and take for a while (see
continuity.py): `claim_name` with its resume secret brings it back into them, its
recording continuing as the next part of the take. A guest that hangs up, or that the
studio ends (`hang_up`, `close_all`), is gone at once: its sink is told, and the studio's
end is announced to the guest first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaBlackhole

from ..ice_status import selected_pair
from ..interfaces import GuestSink, OfferRejected
from ..media import GuestMedia
from ..media.sidecar import link_next_file
from ..names import display_name
from . import report
from .continuity import Continuity, Take, secret_matches
from .guest import Guest, GuestConfig, GuestControl
from .guest_names import GuestNames
from .live_stats import LiveStats
from .liveness import quicken_consent_checks
from .session_folder import SessionFolders

log = logging.getLogger(__name__)

MAX_GUESTS = 16
# A guest that has not connected by then is given up (ICE or DTLS never completed).
CONNECT_TIMEOUT_S = 30.0

FinishedFn = Callable[[Guest, str], None]

# Why a guest ended. The studio's own ends are told to the guest before it is closed;
# a lost connection keeps the guest's name, sink and take for its return.
SERVER_STOPPED = "server stopped"
STUDIO_HUNG_UP = "hung up by the studio"
RECONNECTED = "replaced by its reconnection"
STUDIO_ENDS = {SERVER_STOPPED: "The studio ended the session.",
               STUDIO_HUNG_UP: "The studio ended the session."}
LOST = {"connection failed", "connection closed", "never connected", RECONNECTED}


class GuestRoster:
    """The guest core's entry point for ingests and the engine. Runs on the loop."""

    def __init__(
        self,
        config: Callable[[], GuestConfig],
        sink_factory: Callable[[str], GuestSink | None] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._sink_factory = sink_factory
        self._on_change = on_change
        self._guests: dict[str, Guest] = {}  # by guest_id
        self._finished_listeners: dict[str, FinishedFn] = {}
        self._names = GuestNames(on_return_ended=self._return_ended)
        self._closing = False
        self.sessions = SessionFolders()
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

    def check_capacity(self) -> None:
        # A dropped guest waiting for its return takes no slot, only its name.
        if len(self._guests) + self._names.pending_count >= MAX_GUESTS:
            raise OfferRejected(f"too many guests (at most {MAX_GUESTS})", 503)

    def reserve_name(self, requested: str) -> str:
        """The guest's display name, with " 2", " 3"... when another guest has it; held
        until `admit` or `release_name`."""
        return self._names.reserve(requested, (g.name for g in self._guests.values()))

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
    ) -> Guest:
        """Take a guest in: wire its connection and start its connect watchdog."""
        continuity = self._names.admitted(name)
        guest = Guest(name=name, pc=pc, config=config, client=client, control=control,
                      dtls_failure_hint=dtls_failure_hint,
                      continuity=continuity or Continuity(name=name), resumed=continuity is not None)
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
        self._changed()
        return guest

    def get(self, name: str) -> Guest | None:
        return next((g for g in self._guests.values() if g.name == name), None)

    # -- the engine's API -----------------------------------------------------

    def guest_statuses(self) -> list[dict[str, Any]]:
        guests = sorted(self._guests.values(), key=lambda g: g.created)
        return [report.status_of(g, self.sessions.current) for g in guests]

    async def start_recording(self, guest: str | None = None) -> list[str]:
        started = []
        for entry in self._select(guest):
            if entry.pc.connectionState == "connected" and self._start(entry):
                started.append(entry.name)
        return started

    async def stop_recording(self, guest: str | None = None) -> list[str]:
        stopped = []
        for entry in self._select(guest):
            if entry.media is not None and report.is_recording(entry):
                try:
                    await entry.media.stop_recording()
                except Exception as exc:  # noqa: BLE001 - report, keep the guest
                    log.exception("stopping %r's recording failed", entry.name)
                    entry.error = f"stopping the recording failed: {exc}"
                if entry.continuity is not None:
                    entry.continuity.take = None  # a later start is a new take
                stopped.append(entry.name)
                report.send_status(entry)
        if stopped:
            self._changed()
        return stopped

    async def finish(self, guest: Guest, reason: str) -> None:
        """Finalize the recording, tell the sink, close the connection; once per guest."""
        if guest.finishing is None:
            guest.finishing = asyncio.ensure_future(self._do_finish(guest, reason))
        await asyncio.shield(guest.finishing)

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

    async def close_all(self) -> None:
        self._closing = True
        try:
            await asyncio.gather(
                *(self.finish(g, SERVER_STOPPED) for g in list(self._guests.values())),
                return_exceptions=True,
            )
        finally:
            self._names.returning.drop_all()

    # -- peer connection events ----------------------------------------------

    def _wire(self, entry: Guest) -> None:
        pc = entry.pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            entry.kinds.append(track.kind)
            receiver = next(
                (t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None
            )
            try:
                media = self._media(entry)
                if receiver is not None and media.attach(receiver, track):
                    return
                log.info("guest %r: extra %s track ignored", entry.name, track.kind)
            except Exception as exc:  # noqa: BLE001 - the guest stays, unrecorded
                log.exception("guest %r: the media pipeline refused its %s", entry.name, track.kind)
                entry.error = f"media pipeline failed: {exc}"
            # Nobody reads the track otherwise, and aiortc would queue its frames forever.
            if entry.blackhole is None:
                entry.blackhole = MediaBlackhole()
            entry.blackhole.addTrack(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            log.info("guest %r connection %s", entry.name, state)
            if state == "connected" and not entry.connected_once:
                entry.connected_once = True
                pair = selected_pair(pc)
                if pair is not None:
                    log.info("guest %r media %s (studio %s, guest %s)",
                             entry.name, pair["kind"], pair["local"], pair["remote"])
                self._attach_sink(entry)
                if entry.blackhole is not None:
                    await entry.blackhole.start()
                # A returning guest goes on as it was: recorded again only if it was.
                take_goes_on = entry.continuity is not None and entry.continuity.take is not None
                if take_goes_on if entry.resumed else entry.config.auto_record:
                    self._start(entry)
                report.send_status(entry)
            elif state == "failed":
                entry.error = entry.error or report.failure_reason(entry)
                self._schedule_finish(entry, "connection failed")
            elif state == "closed":
                self._schedule_finish(entry, "connection closed")
            self._changed()

    def _control_opened(self, entry: Guest) -> None:
        report.send_status(entry, force=True)
        if entry.error:  # e.g. the recording failed before the channel was open
            report.send_error(entry, entry.error)

    def _control_message(self, entry: Guest, message: dict[str, Any]) -> None:
        if message.get("type") == "state":
            # What the guest did on its side (self-mute, camera off), for the studio's view.
            entry.page_state = {k: bool(v) for k, v in message.items()
                                if k in ("muted", "camera_off") and isinstance(v, bool)}
            self._changed()
        # Whatever the guest asked, it gets the current state (e.g. after its UI rebuilt).
        report.send_status(entry, force=True)

    def _media(self, entry: Guest) -> GuestMedia:
        """The guest's GuestMedia, made on first use (it needs the loop)."""
        if entry.media is None:
            entry.media = GuestMedia(entry.name, on_recording_change=lambda: self._media_changed(entry))
            entry.live = LiveStats(entry.media.counters)
        return entry.media

    def _attach_sink(self, entry: Guest) -> None:
        """Give a connected guest its sink (in OBS: its source). Not at offer time: a guest
        whose connection never comes up must not leave an empty source behind."""
        if entry.media is None or entry.continuity is None:
            return
        entry.sink = entry.continuity.ensure_sink(self._sink_factory)
        if entry.sink is not None:
            entry.media.add_sink(entry.sink)

    def _media_changed(self, entry: Guest) -> None:
        status = report.recording_status(entry)
        if status and status.get("error"):
            entry.error = str(status["error"])
        # A guest on its way out: how it ends decides whether its take (and with it the
        # session folder) goes on, see _keep_or_end.
        if not entry.ended and not (status and status.get("recording")):
            self.sessions.recording_ended(self._session_key(entry))
        self._link_parts(entry, status)
        report.send_status(entry)
        self._changed()

    def _link_parts(self, entry: Guest, status: dict[str, Any] | None) -> None:
        """Once a continued take's new part has its first file, the part before names it."""
        take = entry.continuity.take if entry.continuity is not None else None
        link = take.link_to_new_part(status) if take is not None else None
        if link is not None:
            asyncio.get_running_loop().run_in_executor(None, link_next_file, *link)

    async def _connect_watchdog(self, entry: Guest) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        entry.watchdog = None  # finishing must not cancel the task that asks for it
        if not entry.connected_once and entry.guest_id in self._guests:
            entry.error = entry.error or report.ice_failure(
                entry, f"did not connect within {CONNECT_TIMEOUT_S:.0f} s")
            await self.finish(entry, "never connected")

    # -- recording ------------------------------------------------------------

    def _start(self, entry: Guest) -> bool:
        """Start the guest's recording; False when it cannot or already records."""
        if entry.media is None or report.is_recording(entry):
            return False
        current = self._config()
        continuity = entry.continuity or Continuity(name=entry.name)
        if continuity.take is None:
            continuity.take = Take()
        try:
            # The plan stays the one this guest negotiated; folder and split may have moved.
            folder = self.sessions.folder_for(Path(current.out_dir))
            path = entry.media.start_recording(entry.config.plan, folder, current.split_minutes,
                                               take=continuity.take.next_part())
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
        report.send_status(entry)
        self._changed()
        return True

    def _record_failed(self, entry: Guest, error: str) -> None:
        entry.error = error
        log.error("guest %r: %s", entry.name, error)
        report.send_error(entry, error)
        self._changed()

    # -- finishing ------------------------------------------------------------

    def _schedule_finish(self, entry: Guest, reason: str) -> None:
        if entry.finishing is None and entry.guest_id in self._guests:
            asyncio.ensure_future(self.finish(entry, reason))

    async def _do_finish(self, entry: Guest, reason: str) -> None:
        if (not entry.connected_once and not entry.error and entry.ice_offered
                and reason != RECONNECTED):
            # e.g. the guest's page gave up waiting for media and hung up (a try to come
            # back that the next try replaced is no such failure)
            entry.error = report.ice_failure(entry, "the media connection never came up")
        if entry.error:
            log.warning("guest %r leaves: %s: %s", entry.name, reason, entry.error)
        else:
            log.info("guest %r leaves: %s", entry.name, reason)
        if entry.watchdog is not None:
            entry.watchdog.cancel()
        try:
            if reason in STUDIO_ENDS:
                await report.tell_ended(entry, STUDIO_ENDS[reason])
            was_recording = report.is_recording(entry)
            await self._release(entry)
            self._keep_or_end(entry, reason, was_recording)
        finally:
            self._guests.pop(entry.guest_id, None)
            listener = self._finished_listeners.pop(entry.guest_id, None)
            if listener is not None:
                report.call_quietly("on_finished", lambda: listener(entry, reason))
            self._changed()

    def _keep_or_end(self, entry: Guest, reason: str, was_recording: bool) -> None:
        """After a lost connection, hold the guest's name, sink and take for its return;
        after any other end, end them."""
        continuity = entry.continuity
        if continuity is None:
            return
        continuity.connection_ended(report.recording_status(entry),
                                    went_on_record=was_recording or not entry.connected_once)
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

    async def _release(self, entry: Guest) -> None:
        # Stop receiving first, then finalize what arrived. GuestMedia.close() also tells
        # the sink (on_disconnected), as it told it on_connected at the first frame.
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

    # -- status ---------------------------------------------------------------

    def _select(self, guest: str | None) -> list[Guest]:
        guests = list(self._guests.values())
        return guests if guest is None else [g for g in guests if g.name == guest]

    def _changed(self) -> None:
        if self._on_change is not None:
            report.call_quietly("on_change", self._on_change)
