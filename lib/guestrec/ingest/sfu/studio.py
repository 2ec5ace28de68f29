"""`serve --sfu`: the studio's WHIP guests go through a Janus VideoRoom room.

Guests keep our guest page, WHIP URL and token. Each WHIP offer is relayed into the room
as a publisher named after the guest; Janus's answer goes back tuned to the record plan;
DELETE makes the publisher leave. The studio subscribes to every guest in the room (its
own and those of other studios) and records and shows each through the guest core. A
guest page learns its recording state over server-sent events (see page_events), since
its data channel ends at Janus; it hears and sees the show through return_bridge's
connections, named in the answer's Link header (rel="urn:guestrec:return").
Implements `interfaces.SessionHost`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ...common.background import spawn
from ...common.interfaces import OfferRejected, SessionAnswer
from ...core import GuestRoster
from ...core.continuity import new_secret
from ...core.end_reasons import RECONNECTED, STUDIO_HUNG_UP
from ...webrtc import sdp
from ..whip.http import GATE_KEY, guest_pass, plain, sdp_body, unauthorized
from .follower import Claim, RoomFollower
from .janus_client import JanusError, JanusGone
from .page_events import LINK_REL, PageEvents
from .return_bridge import ReturnRefused, SfuReturn
from .videoroom import Publisher, PublisherRelay
from .watcher import RoomWatcher

log = logging.getLogger(__name__)

ENDED_SESSIONS_KEPT = 256
# The guest's own connection to Janus failed (no DELETE): it may come back with its
# resume secret into the same name, source and take (see core/continuity.py).
CONNECTION_FAILED = "connection failed"
JANUS_LOST_TEXT = "The studio's media server restarted; join again."
RETURN_REL = "urn:guestrec:return"


@dataclass
class StudioSession:
    name: str  # reserved in the roster until its subscription takes it
    secret: str = field(default_factory=new_secret)  # for its return after a drop
    events: PageEvents = field(default_factory=PageEvents)
    relay: PublisherRelay | None = None
    feed: int | None = None
    admitted: bool = False


class SfuStudio:
    def __init__(self, roster: GuestRoster, url: str, api_secret: str | None, room: int,
                 returns: Any = None) -> None:
        """`returns`: the studio's ReturnFeed, or None."""
        self.roster = roster
        self.room = room
        self.follower = RoomFollower(roster, claim=self._claim)
        self.follower.on_hung_up = self._hung_up
        self.watcher = RoomWatcher(url, api_secret, room, self)
        self.follower.watcher = self.watcher
        self._sessions: dict[str, StudioSession] = {}
        self._by_feed: dict[int, str] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self.return_bridge: SfuReturn | None = None
        if returns is not None:
            self.return_bridge = SfuReturn(returns, room, self._studio_ice_servers)

    def _studio_ice_servers(self) -> list[Any]:
        return self.roster.current_config().ice.for_studio().servers

    async def start(self) -> None:
        """Raises JanusError when Janus, the secret or the room is wrong."""
        await self.watcher.start()

    async def stop(self) -> None:
        try:
            await self.follower.stop()
            await asyncio.gather(*(self._end(sid, "server stopped") for sid in list(self._sessions)),
                                 return_exceptions=True)
            if self.return_bridge is not None:
                await self.return_bridge.stop()
        finally:
            await self.watcher.stop()

    # -- RoomListener (the follower does the subscribing) -------------------------

    def publisher_added(self, publisher: Publisher) -> None:
        self.follower.publisher_added(publisher)

    def publisher_removed(self, feed: int, reason: str) -> None:
        sid = self._by_feed.get(feed)
        if sid is not None and not reason.startswith("Janus went away"):
            # One of our own guests left the room while its WHIP session was still ours
            # (a DELETE or a hang-up ends the session first): its connection dropped.
            reason = CONNECTION_FAILED
            spawn(self._end(sid, reason))
        self.follower.publisher_removed(feed, reason)

    def connection_changed(self, problem: str | None) -> None:
        if self.return_bridge is not None:
            session = self.watcher.session
            back = problem is None and session is not None
            spawn(self.return_bridge.start(session) if back else self.return_bridge.stop())
        if problem is None:
            return
        for sid, session in list(self._sessions.items()):
            session.events.send_error(JANUS_LOST_TEXT)
            session.relay = None  # its handle died with the Janus session
            spawn(self._end(sid, problem))

    # -- SessionHost --------------------------------------------------------------

    async def open_session(self, guest: str, offer_sdp: str, resume_secret: str | None = None,
                           peer: str | None = None) -> SessionAnswer:
        """A guest's offer, relayed into the room. A dropped guest that comes back with its
        resume secret gets its name, source and take back, as over plain WHIP."""
        try:
            sdp.parse_media(offer_sdp)
        except sdp.SdpError as exc:
            raise OfferRejected(str(exc), 400) from None
        problem = sdp.offer_problem(offer_sdp)
        if problem:
            raise OfferRejected(problem, 422)
        janus = self.watcher.session
        if janus is None:
            raise OfferRejected(f"the studio's media server cannot be reached: {self.watcher.problem}", 503)
        await self.roster.make_room(peer)
        config = self.roster.current_config()
        sid = secrets.token_urlsafe(16)
        # With the right secret: its name back (a live guest of that name is its dead
        # connection, not yet noticed: it is ended first, and so is its publisher).
        name = await self.roster.claim_name(guest, resume_secret)
        for old_sid, old in list(self._sessions.items()):
            if old.name == name and old.admitted:
                await self._end(old_sid, RECONNECTED)
        session = StudioSession(name)
        if resume_secret and self.roster.resuming(name):
            session.secret = resume_secret  # the secret of the continuity it takes back
        self._sessions[sid] = session

        def joined(feed: int) -> None:
            session.feed = feed
            self._by_feed[feed] = sid

        try:
            relay = await PublisherRelay.publish(janus, self.room, session.name, offer_sdp, on_joined=joined)
        except JanusGone as exc:
            await self._end(sid, "offer not answered")
            raise OfferRejected(f"the studio's media server cannot be reached: {exc}", 503) from None
        except JanusError as exc:
            await self._end(sid, "offer not answered")
            status = 400 if exc.code and exc.code < 450 else 503
            raise OfferRejected(f"the studio's media server refused the offer: {exc}", status) from None
        except BaseException:
            await self._end(sid, "offer not answered")
            raise
        session.relay = relay
        relay.handle.on_core_event = lambda message: self._relay_event(sid, message)
        log.info("guest %r publishes into room %s (feed %s)", session.name, self.room, relay.feed)
        # RFC 9725 Link headers: the ICE servers (a guest reaches Janus through them as it
        # would reach us), the page's event stream and where it asks for the return.
        links = [*config.ice.link_headers(session.name), f'</whip/session/{sid}/events>; rel="{LINK_REL}"']
        if self.return_bridge is not None and self.return_bridge.returns.settings.enabled:
            links.append(f'</whip/session/{sid}/return>; rel="{RETURN_REL}"')
        return SessionAnswer(
            session_id=sid, answer_sdp=sdp.tune_answer(relay.answer_sdp, config.plan), guest=session.name,
            links=links, resume_secret=session.secret,
        )

    def has_session(self, session_id: str) -> bool:
        """Whether that session's guest is still in the room (not ended)."""
        return session_id in self._sessions

    async def close_session(self, session_id: str) -> bool:
        if session_id in self._sessions:
            await self._end(session_id, "hung up")
            return True
        if session_id in self._ended:
            del self._ended[session_id]
            return True
        return False

    def guest_statuses(self) -> list[dict[str, Any]]:
        return self.roster.guest_statuses()

    def client_ice_servers(self, guest: str) -> list[dict[str, Any]]:
        return self.roster.current_config().ice.for_client(guest)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/whip/session/{session_id}/events", self._events)
        app.router.add_post("/whip/session/{session_id}/return/audio", self._return_sound)
        app.router.add_post("/whip/session/{session_id}/return/video", self._return_picture)
        app.router.add_patch("/whip/session/{session_id}/return/video", self._return_picture_answer)

    # -- inside -------------------------------------------------------------------

    def _claim(self, publisher: Publisher) -> Claim | None:
        sid = self._by_feed.get(publisher.feed)
        session = self._sessions.get(sid) if sid else None
        if session is None:
            return None
        if session.admitted:  # subscribed again: the follower continues the first one
            return Claim(None, session.events)
        session.admitted = True
        return Claim(session.name, session.events, session.secret)

    def _hung_up(self, publisher: Publisher) -> None:
        # Our own guest leaves the room too (its page was told and closes on its own).
        sid = self._by_feed.get(publisher.feed)
        if sid is not None:
            spawn(self._end(sid, STUDIO_HUNG_UP))

    def _relay_event(self, sid: str, message: dict[str, Any]) -> None:
        if message.get("janus") in ("hangup", "detached"):
            # The guest's connection to Janus ended without a DELETE: a drop it may come
            # back from.
            session = self._sessions.get(sid)
            log.info("guest %r's connection to the media server ended (%s)", session.name if session else sid,
                     message.get("reason", message.get("janus")))
            spawn(self._end(sid, CONNECTION_FAILED))

    async def _end(self, sid: str, reason: str) -> None:
        session = self._sessions.pop(sid, None)
        if session is None:
            return
        if reason != "hung up":
            self._ended[sid] = None
            while len(self._ended) > ENDED_SESSIONS_KEPT:
                self._ended.popitem(last=False)
        if session.feed is not None:
            self._by_feed.pop(session.feed, None)
        if not session.admitted:
            self.roster.release_name(session.name)
        relay, session.relay = session.relay, None
        if self.return_bridge is not None:
            await self.return_bridge.guest_gone(sid)
        try:
            # The guest ends first, for this reason: once its publisher leaves, the room's
            # own event would end it for another (and a drop must stay a drop).
            guest = self.follower.guests.get(session.feed) if session.feed is not None else None
            if guest is not None:
                await self.roster.finish(guest, reason)
            if relay is not None:
                await relay.leave()
        finally:
            session.events.close()
        log.info("guest %r left the room: %s", session.name, reason)

    def _own_session(self, request: web.Request) -> tuple[str, StudioSession] | web.Response:
        """The request's session, if the guest credential it carries owns it."""
        holder = guest_pass(request)
        if holder is None:
            return unauthorized()
        session_id = request.match_info["session_id"]
        session = self._sessions.get(session_id)
        if session is None or not request.app[GATE_KEY].owns(session_id, holder):
            return plain(404, "no such session")
        return session_id, session

    async def _events(self, request: web.Request) -> web.StreamResponse:
        found = self._own_session(request)
        if isinstance(found, web.Response):
            return found
        return await found[1].events.stream(request)

    # -- the return's connections (return_bridge) ---------------------------------------

    def _return_session(self, request: web.Request) -> tuple[SfuReturn, str, StudioSession] | web.Response:
        found = self._own_session(request)
        if isinstance(found, web.Response):
            return found
        if self.return_bridge is None:
            return plain(409, "the studio sends nothing back")
        return self.return_bridge, *found

    async def _return_call(self, request: web.Request, call: Any, with_sdp: bool) -> web.Response:
        """A return request of the session's own guest: `call(bridge, sid, session, sdp)`."""
        found = self._return_session(request)
        if isinstance(found, web.Response):
            return found
        bridge, sid, session = found
        body = await sdp_body(request) if with_sdp else None
        if isinstance(body, web.Response):
            return body
        try:
            return await call(bridge, sid, session, body)
        except ReturnRefused as exc:
            return plain(exc.status, exc.reason)

    async def _return_sound(self, request: web.Request) -> web.Response:
        """The page's sound connection into the AudioBridge room: its offer, Janus's answer."""
        async def call(bridge: SfuReturn, sid: str, session: StudioSession, offer: str) -> web.Response:
            answer = await bridge.guest_sound(sid, session.name, offer)
            return web.Response(status=201, text=answer, content_type="application/sdp")
        return await self._return_call(request, call, with_sdp=True)

    async def _return_picture(self, request: web.Request) -> web.Response:
        """Janus's offer of the studio's picture; the page answers with PATCH."""
        async def call(bridge: SfuReturn, sid: str, session: StudioSession, _: None) -> web.Response:
            offer = await bridge.guest_picture_offer(sid, session.name)
            return web.Response(status=201, text=offer, content_type="application/sdp")
        return await self._return_call(request, call, with_sdp=False)

    async def _return_picture_answer(self, request: web.Request) -> web.Response:
        async def call(bridge: SfuReturn, sid: str, _: StudioSession, answer: str) -> web.Response:
            await bridge.guest_picture_answer(sid, answer)
            return web.Response(status=204)
        return await self._return_call(request, call, with_sdp=True)
