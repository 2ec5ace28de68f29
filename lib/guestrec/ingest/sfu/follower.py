"""Subscribes to the room's publishers and hands each to the guest core.

One aiortc connection per guest: several feeds in one connection mix their streams under
aiortc's default bundle policy, and one socket's receive buffer overflows under
max-bundle. The direction is the reverse of WHIP: Janus offers, we answer; the core only
needs the connection, a name and (for our own guest page) a control channel.

A guest whose subscription drops while it still publishes is subscribed again; a guest
that leaves the room is finished (its recording finalized).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from ...common.background import spawn
from ...common.interfaces import OfferRejected
from ...core import Guest, GuestControl, GuestRoster
from ...core.end_reasons import LOST, STUDIO_HUNG_UP
from ...media.direct_receive import without_bitrate_estimate
from .consent import pace_consent_checks_for_sfu
from .janus_client import JanusError, JanusHandle
from .receive_buffers import enlarge_receive_buffers
from .videoroom import Publisher, join_as_subscriber, start_subscriber
from .watcher import RoomWatcher

log = logging.getLogger(__name__)

RESUBSCRIBE_S = 1.0
CLIENT = "janus"


@dataclass
class Claim:
    """What the ingest that published a feed knows about its guest."""

    name: str | None  # already reserved in the roster; None: the follower names the guest
    control: GuestControl | None
    secret: str | None = None  # the resume secret the ingest gave the guest


ClaimFn = Callable[[Publisher], "Claim | None"]


class RoomFollower:
    """A RoomListener that keeps one subscribed guest per selected publisher."""

    def __init__(self, roster: GuestRoster, select: Callable[[Publisher], bool] = lambda p: True,
                 claim: ClaimFn | None = None) -> None:
        self.roster = roster
        pace_consent_checks_for_sfu()  # after the roster, which sets the quick pace
        self.select = select
        self.claim = claim
        self.watcher: RoomWatcher | None = None
        self.guests: dict[int, Guest] = {}  # by feed
        self._handles: dict[int, JanusHandle] = {}
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._hung_up: set[int] = set()  # feeds the studio hung up: not subscribed again
        # A subscription that dropped: its guest's name and resume secret, so the next one
        # continues it (same name, source and take) instead of starting "Name 2".
        self._resume: dict[int, tuple[str, str | None]] = {}
        # Told when the studio hangs up a guest, so the ingest that published it can end it.
        self.on_hung_up: Callable[[Publisher], None] | None = None
        self._stopping = False

    # -- RoomListener -------------------------------------------------------------

    def publisher_added(self, publisher: Publisher) -> None:
        if self.select(publisher):
            self._schedule(publisher)

    def publisher_removed(self, feed: int, reason: str) -> None:
        self._hung_up.discard(feed)
        self._resume.pop(feed, None)
        task = self._pending.pop(feed, None)
        if task is not None:
            task.cancel()
        guest = self.guests.pop(feed, None)
        if guest is not None:
            if reason.startswith("Janus went away"):
                guest.fail(reason, unless_failed=True)
            spawn(self.roster.finish(guest, reason))

    def connection_changed(self, problem: str | None) -> None:
        pass  # the watcher logs it; the engine reads watcher.problem

    # -- subscribing --------------------------------------------------------------

    def _schedule(self, publisher: Publisher) -> None:
        busy = publisher.feed in self._pending or publisher.feed in self.guests
        if self._stopping or busy or publisher.feed in self._hung_up:
            return
        task = asyncio.ensure_future(self._subscribe(publisher))
        self._pending[publisher.feed] = task
        task.add_done_callback(lambda _: self._pending.pop(publisher.feed, None)
                               if self._pending.get(publisher.feed) is task else None)

    def _retry(self, publisher: Publisher) -> None:
        """Subscribe again in a moment if the guest still publishes then (a busy Janus
        that timed out, a subscription whose connection dropped)."""
        def again() -> None:
            if self.watcher is not None and publisher.feed in self.watcher.publishers:
                log.info("%r still publishes: subscribing again", publisher.display)
                self._schedule(publisher)

        if not self._stopping:
            asyncio.get_running_loop().call_later(RESUBSCRIBE_S, again)

    async def _subscribe(self, publisher: Publisher) -> None:
        session = self.watcher.session if self.watcher is not None else None
        if session is None:
            return  # Janus is away; the watcher reports the feed again when it is back
        try:
            self.roster.check_capacity()
            config = self.roster.current_config()
        except OfferRejected as exc:
            log.error("not taking %r: %s", publisher.display, exc.reason)
            return
        began = time.monotonic()
        try:
            handle, offer = await join_as_subscriber(session, self.watcher.room, publisher.feed)
        except JanusError as exc:
            log.warning("cannot subscribe to %r: %s", publisher.display, exc)
            self._retry(publisher)
            return
        claim = self.claim(publisher) if self.claim is not None else None
        resume = self._resume.pop(publisher.feed, None)
        if claim is not None and claim.name is not None:
            name = claim.name
        elif resume is not None:
            name = await self.roster.claim_name(*resume)
        else:
            name = self.roster.reserve_name(publisher.display or f"feed {publisher.feed}")
        # The studio's ICE servers setting (none for a recorder): always an explicit list.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=config.ice.for_studio().servers))
        guest = self.roster.admit(
            name, pc, client=CLIENT, config=config, control=claim.control if claim else None,
            secret=claim.secret if claim else None,
            on_finished=lambda g, reason: self._ended(publisher, g, handle, reason),
        )
        self.roster.set_extra_status(guest, sfu_feed=publisher.feed)
        self.guests[publisher.feed] = guest
        self._handles[publisher.feed] = handle
        offered = time.monotonic()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            without_bitrate_estimate(pc)  # Janus ignores a subscriber's REMB: no need to work it out
            await pc.setLocalDescription(await pc.createAnswer())  # gathers ICE fully
            answered = time.monotonic()
            enlarge_receive_buffers(pc)
            await start_subscriber(handle, pc.localDescription.sdp)
        except Exception as exc:  # noqa: BLE001 - aiortc and Janus raise many kinds
            log.warning("subscribing to %r failed: %s", name, exc)
            guest.fail(f"subscribing through Janus failed: {exc}")
            await self.roster.finish(guest, "subscription failed")
            return
        # Where a subscription's time goes, for a room picked up at once (bench_sfu_pickup.py).
        log.info("subscribed to %r (feed %s): janus offer %.2f s, answer %.2f s, start %.2f s",
                 name, publisher.feed, offered - began, answered - offered, time.monotonic() - answered)

    def _ended(self, publisher: Publisher, guest: Guest, handle: JanusHandle, reason: str) -> None:
        if self.guests.get(publisher.feed) is guest:
            del self.guests[publisher.feed]
        if self._handles.get(publisher.feed) is handle:
            del self._handles[publisher.feed]
        if handle.session.lost is None:
            spawn(handle.detach())
        if reason in LOST and guest.continuity is not None:
            self._resume[publisher.feed] = (guest.name, guest.continuity.secret)
        if reason == STUDIO_HUNG_UP:
            # A rejoin comes as a new feed and is taken again; this one stays out.
            self._hung_up.add(publisher.feed)
            if self.on_hung_up is not None:
                self.on_hung_up(publisher)
            return
        self._retry(publisher)

    async def stop(self) -> None:
        """Finish every subscribed guest (recordings finalized)."""
        self._stopping = True
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
        await asyncio.gather(*(self.roster.finish(g, "recorder stopped") for g in list(self.guests.values())),
                             return_exceptions=True)
