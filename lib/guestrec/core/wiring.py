"""A guest's peer connection wired to the studio: its tracks go to a `media.GuestMedia`
(recorded, fed to the sink), the sink comes when the connection is up, a failed or closed
connection finishes the guest with a reason that says what failed, and the guest's control
channel is answered. GuestRoster inherits these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc.contrib.media import MediaBlackhole

from ..common.interfaces import GuestSink
from ..media import GuestMedia
from ..webrtc.ice_status import ICE_HINT, describe_types, selected_pair
from .guest import Guest
from .guest_side import REPORT_TYPE, GuestSideRecordings
from .live_stats import LiveStats
from .session_folder import SessionFolders

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")


class RosterWiring:
    """Mixed into GuestRoster."""

    if TYPE_CHECKING:
        _sink_factory: Callable[[str], GuestSink | None] | None
        guest_side: GuestSideRecordings
        sessions: SessionFolders

        def _start(self, entry: Guest) -> bool: ...
        def _send_status(self, entry: Guest, force: bool = False) -> None: ...
        def _send_error(self, entry: Guest, text: str) -> None: ...
        def _schedule_finish(self, entry: Guest, reason: str) -> None: ...
        def _link_parts(self, entry: Guest, status: dict[str, Any] | None) -> None: ...
        def _changed(self) -> None: ...
        @staticmethod
        def _session_key(entry: Guest) -> str: ...

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
                    if entry.connected_once:
                        # Media added to a connection already up (a renegotiation): once
                        # every track of that offer is attached, sink and recording follow.
                        asyncio.get_running_loop().call_soon(self._media_arrived, entry)
                    return
                log.info("guest %r: extra %s track ignored", entry.name, track.kind)
            except Exception as exc:  # noqa: BLE001 - the guest stays, unrecorded
                log.exception("guest %r: the media pipeline refused its %s", entry.name, track.kind)
                entry.error = f"media pipeline failed: {exc}"
            # Nobody reads the track otherwise, and aiortc would queue its frames forever.
            if entry.blackhole is None:
                entry.blackhole = MediaBlackhole()
            entry.blackhole.addTrack(track)
            if entry.connected_once:  # a renegotiation's track: the connection is up
                asyncio.ensure_future(entry.blackhole.start())

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            log.info("guest %r connection %s", entry.name, state)
            if state == "connected" and not entry.connected_once:
                await self._on_connected(entry)
            elif state == "failed":
                entry.error = entry.error or self._failure_reason(entry)
                self._schedule_finish(entry, "connection failed")
            elif state == "closed":
                self._schedule_finish(entry, "connection closed")
            self._changed()

    async def _on_connected(self, entry: Guest) -> None:
        if entry.connected_once or entry.ended:
            return
        entry.connected_once = True
        pair = selected_pair(entry.pc)
        if pair is not None:
            log.info("guest %r media %s (studio %s, guest %s)",
                     entry.name, pair["kind"], pair["local"], pair["remote"])
        self._attach_sink(entry)
        if entry.blackhole is not None:
            await entry.blackhole.start()
        if self._records_on_arrival(entry):
            self._start(entry)
        self._send_status(entry)

    @staticmethod
    def _records_on_arrival(entry: Guest) -> bool:
        # A returning guest goes on as it was: recorded again only if it was.
        take_goes_on = entry.continuity is not None and entry.continuity.take is not None
        return take_goes_on if entry.resumed else entry.config.auto_record

    def _media_arrived(self, entry: Guest) -> None:
        if entry.ended:
            return
        self._attach_sink(entry)
        if self._records_on_arrival(entry):
            self._start(entry)
        self._send_status(entry)
        self._changed()

    def _control_opened(self, entry: Guest) -> None:
        # What happened before the channel was open is told now.
        entry.last_error_sent = entry.refusal_sent = None
        if entry.error:  # e.g. the recording failed before the channel was open
            self._send_error(entry, entry.error)
            entry.last_error_sent = entry.error
        self._send_status(entry, force=True)
        self.guest_side.send_wanted(entry)  # the page reapplies it after every reconnect

    def _control_message(self, entry: Guest, message: dict[str, Any]) -> None:
        if message.get("type") == REPORT_TYPE:
            self.guest_side.on_report(entry, message)
            return
        if message.get("type") == "state":
            # What the guest did on its side (self-mute, camera off), for the studio's view.
            entry.page_state = {k: bool(v) for k, v in message.items()
                                if k in ("muted", "camera_off") and isinstance(v, bool)}
            self._changed()
        # Whatever the guest asked, it gets the current state (e.g. after its UI rebuilt).
        self._send_status(entry, force=True)

    def _media(self, entry: Guest) -> GuestMedia:
        """The guest's GuestMedia, made on first use (it needs the loop)."""
        if entry.media is None:
            entry.media = GuestMedia(
                entry.name, on_recording_change=lambda: self._media_changed(entry),
                limits=entry.config.media_limits,
            )
            entry.live = LiveStats(entry.media.counters)
        return entry.media

    def _attach_sink(self, entry: Guest) -> None:
        """Give a connected guest its sink (in OBS: its source). Not at offer time: a guest
        whose connection never comes up must not leave an empty source behind."""
        if entry.media is None or entry.continuity is None:
            return
        entry.sink = entry.continuity.ensure_sink(self._sink_factory)  # once per guest
        if entry.sink is not None and entry.sink not in entry.media.sinks:  # once per media
            entry.media.add_sink(entry.sink)

    def _media_changed(self, entry: Guest) -> None:
        status = entry.media.recording_status() if entry.media is not None else None
        if status and status.get("error"):
            entry.error = str(status["error"])
        # A guest on its way out: how it ends decides whether its take (and with it the
        # session folder) goes on, see _keep_or_end.
        if not entry.ended and not (status and status.get("recording")):
            self.sessions.recording_ended(self._session_key(entry))
        self._link_parts(entry, status)
        self._send_status(entry)
        self._changed()

    def _failure_reason(self, entry: Guest) -> str:
        ice_ok = dtls_failed = False
        for transceiver in entry.pc.getTransceivers():
            dtls = transceiver.receiver.transport
            if dtls is None:
                continue
            dtls_failed = dtls_failed or dtls.state == "failed"
            ice_ok = ice_ok or dtls.transport.state in ("completed", "connected")
        if dtls_failed and ice_ok:
            return entry.dtls_failure_hint or "DTLS handshake failed"
        return self._ice_failure(entry, "the media connection failed (ICE)")

    def _ice_failure(self, entry: Guest, what: str) -> str:
        """What failed, the candidate types both sides offered, and where to look."""
        offered = entry.ice_offered
        if not offered:
            return what
        return (f"{what}; the guest offered {describe_types(offered.get('guest', []))} "
                f"candidates, the studio {describe_types(offered.get('studio', []))}: {ICE_HINT}")
