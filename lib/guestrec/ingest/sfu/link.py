"""Two Janus servers linked: every publisher of a room on one (the source) also appears
as a publisher of a room on the other (the target), through VideoRoom's remote
publishers, so studios and recorders on either side see every guest.

For each source publisher: `add_remote_publisher` on the target (Janus picks the ports),
then `publish_remotely` on the source towards them, with SRTP and the RTCP port so the
target's subscribers can ask the guest for keyframes. When the publisher leaves, both are
undone. Both need each room's secret (and the admin key, which install/janus.sh makes
the same). A lost source or target is followed by its watcher; when it is back, the
links are made again.

    guestrec sfu-link --from janus:URL --from-room R --from-secret S --from-room-secret RS
                      --to janus:URL --to-room R --to-secret S --to-room-secret RS
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...common.background import spawn
from .janus_client import JanusError, JanusSession
from .videoroom import Publisher, request_once
from .watcher import WATCHER_DISPLAY, RoomWatcher

log = logging.getLogger(__name__)

# What add_remote_publisher takes of a published stream's description.
STREAM_KEYS = ("type", "mindex", "mid", "disabled", "codec", "description", "stereo", "fec", "dtx",
               "h264-profile", "vp9-profile", "simulcast", "svc", "audiolevel_ext_id",
               "videoorient_ext_id", "playoutdelay_ext_id")
SRTP_SUITE = 80


@dataclass(frozen=True)
class RoomAccess:
    url: str  # Janus's HTTP API
    room: int
    api_secret: str | None
    room_secret: str  # also the admin key of install/janus.sh's configuration


@dataclass
class _Linked:
    remote_id: str  # on the target
    remotization: str  # on the source


def _request(session: JanusSession | None, body: dict[str, Any]) -> Any:
    async def run() -> dict[str, Any]:
        if session is None:
            raise JanusError("Janus is away")
        return await request_once(session, body)
    return run()


class _TargetListener:
    """The target's watcher only tells the link when the target comes and goes."""

    def __init__(self, link: RoomLink) -> None:
        self.link = link

    def publisher_added(self, publisher: Publisher) -> None:
        pass

    def publisher_removed(self, feed: int, reason: str) -> None:
        pass

    def connection_changed(self, problem: str | None) -> None:
        self.link.target_changed(problem)


class RoomLink:
    def __init__(self, source: RoomAccess, target: RoomAccess) -> None:
        self.source, self.target = source, target
        self.source_watcher = RoomWatcher(source.url, source.api_secret, source.room, self)
        self.target_watcher = RoomWatcher(target.url, target.api_secret, target.room, _TargetListener(self))
        self.linked: dict[int, _Linked] = {}  # by source feed
        self._srtp_key = base64.b64encode(secrets.token_bytes(30)).decode()  # SDES: 30 bytes

    async def start(self) -> None:
        await self.target_watcher.start()
        await self.source_watcher.start()

    async def stop(self) -> None:
        for feed in list(self.linked):
            await self._unlink(feed)
        await self.source_watcher.stop()
        await self.target_watcher.stop()

    # -- RoomListener of the source ------------------------------------------------

    def publisher_added(self, publisher: Publisher) -> None:
        if not publisher.display.startswith(WATCHER_DISPLAY):
            spawn(self._link(publisher))

    def publisher_removed(self, feed: int, reason: str) -> None:
        spawn(self._unlink(feed))

    def connection_changed(self, problem: str | None) -> None:
        if problem is not None:
            # The source's remotizations died with it; the target's copies must go too.
            for feed in list(self.linked):
                spawn(self._unlink(feed))

    def target_changed(self, problem: str | None) -> None:
        if problem is None:  # (back) up: link every publisher the source has, afresh
            spawn(self._relink_all())

    async def _relink_all(self) -> None:
        for feed in list(self.linked):
            await self._unlink(feed)  # the target's side went with its restart
        for publisher in list(self.source_watcher.publishers.values()):
            self.publisher_added(publisher)

    # -- linking -------------------------------------------------------------------

    async def _link(self, publisher: Publisher) -> None:
        if publisher.feed in self.linked:
            return
        streams = [{k: s[k] for k in STREAM_KEYS if k in s} for s in publisher.streams]
        try:
            added = await _request(self.target_watcher.session, {
                "request": "add_remote_publisher", "room": self.target.room,
                "secret": self.target.room_secret, "admin_key": self.target.room_secret,
                "display": publisher.display, "port": 0,  # 0: Janus 1.1 reuses freed ports badly
                "srtp_suite": SRTP_SUITE, "srtp_crypto": self._srtp_key, "streams": streams})
            remotization = f"guestrec-{publisher.feed}"
            await _request(self.source_watcher.session, {
                "request": "publish_remotely", "room": self.source.room, "publisher_id": publisher.feed,
                "remote_id": remotization, "secret": self.source.room_secret,
                "admin_key": self.source.room_secret, "host": urlsplit(self.target.url).hostname,
                "port": added["port"], "rtcp_port": added.get("rtcp_port"),
                "srtp_suite": SRTP_SUITE, "srtp_crypto": self._srtp_key})
        except (JanusError, KeyError) as exc:
            log.warning("cannot link %r to %s: %s", publisher.display, self.target.url, exc)
            return
        self.linked[publisher.feed] = _Linked(str(added["id"]), remotization)
        log.info("%r linked to room %s at %s", publisher.display, self.target.room, self.target.url)

    async def _unlink(self, feed: int) -> None:
        linked = self.linked.pop(feed, None)
        if linked is None:
            return
        for session, body in (
            (self.source_watcher.session, {"request": "unpublish_remotely", "room": self.source.room,
                                           "publisher_id": feed, "remote_id": linked.remotization,
                                           "secret": self.source.room_secret,
                                           "admin_key": self.source.room_secret}),
            (self.target_watcher.session, {"request": "remove_remote_publisher", "room": self.target.room,
                                           "id": int(linked.remote_id), "secret": self.target.room_secret,
                                           "admin_key": self.target.room_secret}),
        ):
            try:
                await _request(session, body)
            except JanusError as exc:
                log.debug("unlinking feed %s: %s", feed, exc)
