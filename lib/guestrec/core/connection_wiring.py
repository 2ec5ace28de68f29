"""A guest's peer connection wired to the studio: its tracks go to a `media.GuestMedia`
(recorded, fed to the sink), the sink comes when the connection is up, and a failed or
closed connection is reported with a reason that says what failed.

What follows is not decided here: `on_media_up` (the connection came up, or media added
later is attached), `on_lost` (the connection failed or closed), `on_recording_change`
(the guest's recording started, stopped or failed) and `on_change` (anything the status
shows) are given at construction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc.contrib.media import MediaBlackhole

from ..common.interfaces import GuestSink
from ..media import GuestMedia
from ..webrtc.ice_status import describe_types, ice_hint, selected_pair
from .guest import Guest
from .live_stats import LiveStats

# The roster's own logger: one guest's story reads in one place.
log = logging.getLogger(__package__ + ".roster")

GuestEvent = Callable[[Guest], None]


def ice_failure(guest: Guest, what: str) -> str:
    """What failed, the candidate types both sides offered, and where to look."""
    offered = guest.ice_offered
    if not offered:
        return what
    return (f"{what}; the guest offered {describe_types(offered.get('guest', []))} "
            f"candidates, the studio {describe_types(offered.get('studio', []))}: {ice_hint(offered)}")


def connection_failure(guest: Guest) -> str:
    """Why a connection failed: DTLS after ICE worked, else ICE."""
    ice_ok = dtls_failed = False
    for transceiver in guest.pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is None:
            continue
        dtls_failed = dtls_failed or dtls.state == "failed"
        ice_ok = ice_ok or dtls.transport.state in ("completed", "connected")
    if dtls_failed and ice_ok:
        return guest.dtls_failure_hint or "DTLS handshake failed"
    return ice_failure(guest, "the media connection failed (ICE)")


class ConnectionWiring:
    def __init__(
        self,
        sink_factory: Callable[[str], GuestSink | None] | None,
        *,
        on_media_up: GuestEvent,
        on_lost: Callable[[Guest, str], None],
        on_recording_change: GuestEvent,
        on_change: Callable[[], None],
    ) -> None:
        self._sink_factory = sink_factory
        self._on_media_up = on_media_up
        self._on_lost = on_lost
        self._on_recording_change = on_recording_change
        self._on_change = on_change

    def wire(self, guest: Guest) -> None:
        pc = guest.pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            guest.kinds.append(track.kind)
            receiver = next(
                (t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None
            )
            try:
                media = self._media(guest)
                if receiver is not None and media.attach(receiver, track):
                    if guest.connected_once:
                        # Media added to a connection already up (a renegotiation): once
                        # every track of that offer is attached, sink and recording follow.
                        asyncio.get_running_loop().call_soon(self._media_arrived, guest)
                    return
                log.info("guest %r: extra %s track ignored", guest.name, track.kind)
            except Exception as exc:  # the guest stays, unrecorded
                log.exception("guest %r: the media pipeline refused its %s", guest.name, track.kind)
                guest.fail(f"media pipeline failed: {exc}")
            # Nobody reads the track otherwise, and aiortc would queue its frames forever.
            if guest.blackhole is None:
                guest.blackhole = MediaBlackhole()
            guest.blackhole.addTrack(track)
            if guest.connected_once:  # a renegotiation's track: the connection is up
                # start() only spawns the blackhole's own reading tasks, which it keeps.
                asyncio.ensure_future(guest.blackhole.start())  # noqa: RUF006

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            log.info("guest %r connection %s", guest.name, state)
            if state == "connected" and not guest.connected_once:
                await self.connected(guest)
            elif state == "failed":
                guest.fail(connection_failure(guest), unless_failed=True)
                self._on_lost(guest, "connection failed")
            elif state == "closed":
                self._on_lost(guest, "connection closed")
            self._on_change()

    async def connected(self, guest: Guest) -> None:
        """The connection is up (once per connection): sink, then what follows."""
        if guest.connected_once or guest.ended:
            return
        guest.connected_once = True
        pair = selected_pair(guest.pc)
        if pair is not None:
            log.info("guest %r media %s (studio %s, guest %s)",
                     guest.name, pair["kind"], pair["local"], pair["remote"])
        self._attach_sink(guest)
        if guest.blackhole is not None:
            await guest.blackhole.start()
        self._on_media_up(guest)

    def _media_arrived(self, guest: Guest) -> None:
        if guest.ended:
            return
        self._attach_sink(guest)
        self._on_media_up(guest)
        self._on_change()

    def _media(self, guest: Guest) -> GuestMedia:
        """The guest's GuestMedia, made on first use (it needs the loop)."""
        if guest.media is None:
            guest.media = GuestMedia(
                guest.name, on_recording_change=lambda: self._on_recording_change(guest),
                limits=guest.config.media_limits,
            )
            guest.live = LiveStats(guest.media.counters)
        return guest.media

    def _attach_sink(self, guest: Guest) -> None:
        """Give a connected guest its sink (in OBS: its source). Not at offer time: a guest
        whose connection never comes up must not leave an empty source behind."""
        if guest.media is None or guest.continuity is None:
            return
        guest.sink = guest.continuity.ensure_sink(self._sink_factory)  # once per guest
        if guest.sink is not None and guest.sink not in guest.media.sinks:  # once per media
            guest.media.add_sink(guest.sink)
