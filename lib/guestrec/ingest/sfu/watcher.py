"""Follows one VideoRoom room: who publishes, kept through Janus restarts.

The watcher holds the Janus session everybody else uses (publisher relays, subscribers)
and joins the room as a participant that never publishes, so Janus tells it about every
publisher that comes ("publishers") and goes ("unpublished", "leaving"). The join's reply
lists the publishers already there, which is how a restarted studio or recorder finds its
guests again. When the session is lost (Janus restarted or unreachable) every known
publisher is reported gone, the problem is reported, and a new session is tried every
second until Janus answers again; the room's publishers are then read afresh.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Protocol

from .janus_client import JanusError, JanusGone, JanusSession
from .videoroom import PLUGIN, Publisher, check_room, publishers_in

log = logging.getLogger(__name__)

RETRY_S = 1.0
WATCHER_DISPLAY = "guestrec watcher"


class RoomListener(Protocol):
    def publisher_added(self, publisher: Publisher) -> None: ...

    def publisher_removed(self, feed: int, reason: str) -> None: ...

    def connection_changed(self, problem: str | None) -> None:
        """None once the room is followed (again), else why it is not."""
        ...


class RoomWatcher:
    def __init__(self, url: str, api_secret: str | None, room: int, listener: RoomListener) -> None:
        self.url, self.api_secret, self.room = url, api_secret, room
        self.listener = listener
        self.session: JanusSession | None = None
        self.problem: str | None = "not started"
        self.publishers: dict[int, Publisher] = {}
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, keep_trying: bool = True) -> None:
        """Follow the room. A wrong secret or room raises JanusError here; an unreachable
        Janus is reported and tried again every second (raised when not `keep_trying`).
        Later losses are always tried again."""
        try:
            await self._connect()
        except JanusGone as exc:
            if not keep_trying:
                raise
            self.problem = str(exc)
            log.error("room %s: %s; retrying every %.0f s", self.room, exc, RETRY_S)
            self.listener.connection_changed(self.problem)
            self._lost.set()
        self._task = asyncio.ensure_future(self._keep_following())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def _connect(self) -> None:
        session = JanusSession(self.url, self.api_secret)
        await session.open()
        try:
            await check_room(session, self.room)
            handle = await session.attach(PLUGIN)
            handle.on_event = self._on_event
            joined, _ = await handle.request({
                "request": "join", "ptype": "publisher", "room": self.room,
                "display": f"{WATCHER_DISPLAY} {secrets.token_hex(3)}"})
        except BaseException:
            await session.close()
            raise
        self._lost.clear()
        session.on_lost = lambda reason: self._lost.set()
        self.session = session
        self.problem = None
        self.listener.connection_changed(None)
        for publisher in publishers_in(joined.get("publishers")):
            self._add(publisher)

    async def _keep_following(self) -> None:
        while True:
            await self._lost.wait()
            if self.session is not None:
                await self._forget_all(f"Janus went away: {self.session.lost}")
            while True:
                await asyncio.sleep(RETRY_S)
                try:
                    await self._connect()
                    log.info("following room %s at %s again", self.room, self.url)
                    break
                except JanusError as exc:
                    log.debug("Janus still away: %s", exc)

    async def _forget_all(self, reason: str) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        self.problem = reason
        log.error("room %s: %s; retrying every %.0f s", self.room, reason, RETRY_S)
        self.listener.connection_changed(reason)
        for feed in list(self.publishers):
            self._remove(feed, reason)

    def _on_event(self, data: dict[str, Any], jsep: dict[str, Any] | None) -> None:
        if data.get("videoroom") == "destroyed":
            if self.session is not None:
                self.session.lose(f"room {self.room} was destroyed")
            return
        for publisher in publishers_in(data.get("publishers")):
            self._add(publisher)
        for key in ("unpublished", "leaving"):
            feed = data.get(key)
            if isinstance(feed, int) and feed in self.publishers:
                self._remove(feed, "left the room" if key == "leaving" else "stopped publishing")

    def _add(self, publisher: Publisher) -> None:
        if publisher.feed in self.publishers:
            return
        self.publishers[publisher.feed] = publisher
        self.listener.publisher_added(publisher)

    def _remove(self, feed: int, reason: str) -> None:
        if self.publishers.pop(feed, None) is not None:
            self.listener.publisher_removed(feed, reason)


__all__ = ["JanusGone", "RoomListener", "RoomWatcher"]
