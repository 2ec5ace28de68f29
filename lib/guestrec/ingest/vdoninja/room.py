"""A VDO.Ninja room as a guest source: join as a viewer, and every publisher in the room
becomes a guest of the core (recorded, shown in OBS) through its own `RoomPeer`.

The handshake socket only finds the members and carries the first offer and answer;
when it drops it comes back with backoff and the room is joined again, while guests
already connected go on peer to peer. A guest who leaves (`bye` on its data channel, a
relay `disconnect`, or its connection closing) is finished; one who comes back offers
again and is admitted again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...common.background import spawn
from ...common.interfaces import OfferRejected
from ...core import GuestRoster
from ...core.end_reasons import LOST, RECONNECTED
from .crypto import DecryptError, seal, unseal
from .dialects import HOSTED, RELAY, Dialect, Event, make_dialect
from .names import RoomKeys, clean_id
from .peer import RoomPeer
from .settings import AUTO, VdoSettings
from .signaling import SignalingSocket, tls_context

log = logging.getLogger(__name__)

_RELAY_REFUSAL = "missing from field"  # how the self-hosted relay answers a hosted message
_UUID_TAKEN = "uuid already in use"  # the relay still holds our previous, half-dead socket
ASK_AGAIN_S = 1.0  # after a guest's connection was lost, before asking it to offer again
LEFT_GRACE_S = 3.0  # after a guest's socket closed, how long its connection may take to close


class VdoRoom:
    """The room's members as guests. Runs on the engine's loop."""

    def __init__(self, settings: VdoSettings, roster: GuestRoster) -> None:
        self.settings = settings
        self.keys = RoomKeys.make(settings.room, settings.password, settings.salt)
        self.roster = roster
        # None: the studio's ICE servers setting (by default one public STUN server, as
        # VDO.Ninja uses), read for each connection so TURN credentials are fresh.
        self.ice_servers = None if settings.ice_servers is None else list(settings.ice_servers)
        first = HOSTED if settings.dialect == AUTO else settings.dialect
        self.dialect: Dialect = make_dialect(first, settings.director)
        self._wanted = {clean_id(s) for s in settings.streams if s.strip()}
        self.links: dict[str, RoomPeer] = {}  # by the member's UUID
        self._secrets: dict[str, str] = {}  # stream id -> its guest's resume secret
        self.socket = SignalingSocket(
            settings.server, self._on_message, self._on_open,
            ssl_context=tls_context(settings.extra_ca),
        )
        self.errors: list[str] = []

    async def start(self) -> None:
        self.socket.start()

    async def close(self) -> None:
        await self.socket.close()
        await asyncio.gather(*(link.close("room closed") for link in list(self.links.values())),
                             return_exceptions=True)

    def status(self) -> dict[str, Any]:
        return {
            "room": self.keys.room, "server": self.settings.server, "dialect": self.dialect.name,
            "handshake": self.socket.state, "handshake_error": self.socket.last_error,
            "handshake_connects": self.socket.connects,
            "guests": sorted(link.name for link in self.links.values() if link.guest),
            "director": self.settings.director, "errors": list(self.errors),
        }

    # -- the handshake --------------------------------------------------------

    async def _on_open(self) -> None:
        await self.socket.send(self.dialect.join(self.keys.wire_room))

    async def _send_to(self, target: str, message: dict[str, Any]) -> bool:
        return await self.socket.send(self.dialect.to(target, seal(message, self.keys.key)))

    async def _on_message(self, raw: dict[str, Any]) -> None:
        try:
            message = unseal(raw, self.keys.key)
        except DecryptError as exc:
            self._error(f"a message from the room does not decrypt ({exc}); is the password right?")
            return
        for event in self.dialect.read(message):
            await self._on_event(event)

    async def _on_event(self, event: Event) -> None:
        if event.kind == "publisher" and event.sender and event.stream:
            await self._publisher(event.sender, event.stream)
        elif event.kind == "offer" and event.sender:
            await self._offer(event.sender, event.message)
        elif event.kind == "candidates" and event.sender:
            link = self.links.get(event.sender)
            if link is not None and event.message.get("session", link.session) == link.session:
                await link.add_candidates(event.message)
        elif event.kind == "left" and event.sender:
            link = self.links.get(event.sender)
            if link is not None:
                spawn(self._left(link))
        elif event.kind == "error":
            await self._server_error(str(event.message.get("error")))

    async def _left(self, link: RoomPeer) -> None:
        """The guest's handshake socket closed. A guest who left also closes its connection
        to us (or says `bye`); one whose socket only dropped still talks to us peer to
        peer, and its recording goes on."""
        await asyncio.sleep(LEFT_GRACE_S)
        if link.gone:
            return
        if link.talking():
            log.info("guest %r lost its handshake socket; its media goes on", link.name)
            return
        await link.close("left the room (disconnected from the handshake server)")

    async def _server_error(self, text: str) -> None:
        if text == _RELAY_REFUSAL and self.settings.dialect == AUTO and self.dialect.name == HOSTED:
            log.info("the handshake server speaks the self-hosted relay dialect; joining again")
            self.dialect = make_dialect(RELAY, self.settings.director)
            await self._on_open()
            return
        if text == _UUID_TAKEN and self.dialect.name == RELAY:
            # Rather than wait for the relay to notice our old socket is gone: a new name.
            # Guests already connected keep their connections to us.
            self.dialect = make_dialect(RELAY, self.settings.director)
            await self._on_open()
            return
        self._error(f"the handshake server says: {text}")

    def _error(self, text: str) -> None:
        log.warning("VDO.Ninja room %s: %s", self.keys.room, text)
        self.errors = [*self.errors, text][-10:]

    def _wants(self, wire_stream: str | None) -> bool:
        if not self._wanted:
            return True
        return wire_stream is not None and self.keys.plain_stream(wire_stream) in self._wanted

    async def _publisher(self, uuid: str, wire_stream: str) -> None:
        if not self._wants(wire_stream):
            return
        live = self.links.get(uuid)
        if live is not None and not live.gone:
            return  # already viewing it (e.g. announced again after a reconnect)
        if any(link.stream_id == self.keys.plain_stream(wire_stream) and not link.gone
               for link in self.links.values()):
            return  # the same guest under a new UUID (a hosted server restarted): keep it
        await self.socket.send(self.dialect.play(wire_stream, uuid))

    async def _offer(self, uuid: str, message: dict[str, Any]) -> None:
        description = message.get("description")
        if not isinstance(description, dict) or description.get("type") != "offer":
            return
        wire_stream = message.get("streamID")
        session = str(message.get("session") or "")
        link = self.links.get(uuid)
        if link is not None and link.session != session and not link.gone:
            # The guest started a new connection: the old one is lost, its take goes on.
            await link.close(RECONNECTED)
            link = None
        if link is None or link.gone:
            if not self._wants(wire_stream if isinstance(wire_stream, str) else None):
                return
            stream_id = self.keys.plain_stream(str(wire_stream)) if wire_stream else uuid
            try:
                config = self.roster.current_config()
            except OfferRejected as exc:  # the studio's settings take no guests now
                self._error(f"{stream_id} not taken: {exc.reason}")
                return
            ice_servers = self.ice_servers
            if ice_servers is None:
                ice_servers = config.ice.for_studio().servers
            link = RoomPeer(
                uuid=uuid, stream_id=stream_id, session=session, keys=self.keys,
                roster=self.roster, ice_servers=ice_servers, plan=config.plan,
                director=self.settings.director, on_gone=self._link_gone,
                resume_secret=self._secrets.get(stream_id),
                wire_stream=str(wire_stream) if wire_stream else None,
            )
            self.links[uuid] = link
        try:
            answer = await link.answer(description)
        except Exception as exc:  # noqa: BLE001 - aiortc raises many kinds on odd SDP
            self._error(f"cannot answer {link.name}'s offer: {exc}")
            await link.close("offer not answered")
            return
        await self._send_to(uuid, {"description": answer, "session": session})

    def _link_gone(self, link: RoomPeer) -> None:
        if link.resume_secret:
            self._secrets[link.stream_id] = link.resume_secret
        if self.links.get(link.uuid) is link:
            del self.links[link.uuid]
        if link.end_reason in LOST and link.wire_stream:
            # As VDO.Ninja's own viewers do: ask again. A guest still in the room offers a
            # new connection, which takes up its held name and take.
            spawn(self._ask_again(link.uuid, link.wire_stream))

    async def _ask_again(self, uuid: str, wire_stream: str) -> None:
        await asyncio.sleep(ASK_AGAIN_S)
        if uuid in self.links or self.socket.state != "open":
            return
        log.info("asking stream %s to connect again", self.keys.plain_stream(wire_stream))
        await self.socket.send(self.dialect.play(wire_stream, uuid))
