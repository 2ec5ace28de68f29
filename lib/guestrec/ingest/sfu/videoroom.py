"""Janus VideoRoom requests the studio and the recorders make, on a JanusSession.

    await check_room(session, room)                  JanusError with a clear reason if absent
    await list_publishers(session, room)             who publishes now
    relay = await PublisherRelay.publish(session, room, display, offer_sdp)
    relay.answer_sdp, relay.feed; await relay.leave()
    handle, offer = await join_as_subscriber(session, room, feed)
    await start_subscriber(handle, answer_sdp)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .janus_client import JanusError, JanusHandle, JanusSession

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.videoroom"
NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
# A studio's picture for its guests (return_bridge.py) publishes under this name: it is
# no guest, so nobody records, shows or links it.
RETURN_DISPLAY = "guestrec return"


@dataclass(frozen=True)
class Publisher:
    """A participant that publishes media: its feed id and the name it joined with."""

    feed: int
    display: str
    # Janus's description of each published stream (type, mid, codec...), when it sent one.
    streams: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)


def publishers_in(items: Any) -> list[Publisher]:
    """Publishers from a "publishers" list of an event or a participants list."""
    found = []
    for item in items or []:
        if not isinstance(item, dict) or "id" not in item:
            continue
        if item.get("publisher") is False or item.get("dummy"):
            continue
        if str(item.get("display") or "").startswith(RETURN_DISPLAY):
            continue
        streams = tuple(s for s in item.get("streams") or [] if isinstance(s, dict))
        found.append(Publisher(int(item["id"]), str(item.get("display") or ""), streams))
    return found


async def request_once(session: JanusSession, body: dict[str, Any]) -> dict[str, Any]:
    """One VideoRoom request on a handle of its own, detached afterwards."""
    handle = await session.attach(PLUGIN)
    try:
        data, _ = await handle.request(body)
        return data
    finally:
        await handle.detach()


async def check_room(session: JanusSession, room: int) -> None:
    data = await request_once(session, {"request": "exists", "room": room})
    if not data.get("exists"):
        raise JanusError(f"Janus has no VideoRoom room {room} (install/janus.sh makes one)", NO_SUCH_ROOM)


async def list_publishers(session: JanusSession, room: int) -> list[Publisher]:
    data = await request_once(session, {"request": "listparticipants", "room": room})
    return publishers_in(data.get("participants"))


class PublisherRelay:
    """One guest published into the room: our WHIP guest's offer, Janus's answer."""

    def __init__(self, handle: JanusHandle, feed: int, answer_sdp: str) -> None:
        self.handle = handle
        self.feed = feed
        self.answer_sdp = answer_sdp

    @classmethod
    async def publish(cls, session: JanusSession, room: int, display: str, offer_sdp: str,
                      on_joined: Callable[[int], None] | None = None) -> PublisherRelay:
        """Join as `display` and publish the offer. `on_joined(feed)` is called before the
        offer goes out, so the feed is known before anyone is told it publishes."""
        handle = await session.attach(PLUGIN)
        try:
            joined, _ = await handle.request(
                {"request": "join", "ptype": "publisher", "room": room, "display": display})
            if on_joined is not None:
                on_joined(int(joined["id"]))
            _, jsep = await handle.request(
                {"request": "publish", "display": display}, jsep={"type": "offer", "sdp": offer_sdp})
            if not jsep or jsep.get("type") != "answer" or not jsep.get("sdp"):
                raise JanusError("Janus published the guest but sent no SDP answer")
        except BaseException:
            await handle.detach()
            raise
        return cls(handle, int(joined["id"]), str(jsep["sdp"]))

    async def leave(self) -> None:
        """Stop publishing and leave the room (the handle goes with it)."""
        try:
            await self.handle.request({"request": "leave"}, timeout=5)
        except JanusError as exc:
            log.debug("leaving the room: %s", exc)
        await self.handle.detach()


async def join_as_subscriber(session: JanusSession, room: int, feed: int) -> tuple[JanusHandle, str]:
    """A subscriber handle to one feed, and Janus's SDP offer for it."""
    handle = await session.attach(PLUGIN)
    try:
        _, jsep = await handle.request(
            {"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": feed}]})
        if not jsep or jsep.get("type") != "offer" or not jsep.get("sdp"):
            raise JanusError(f"Janus sent no SDP offer for feed {feed}")
    except BaseException:
        await handle.detach()
        raise
    return handle, str(jsep["sdp"])


async def start_subscriber(handle: JanusHandle, answer_sdp: str) -> None:
    await handle.request({"request": "start"}, jsep={"type": "answer", "sdp": answer_sdp})
