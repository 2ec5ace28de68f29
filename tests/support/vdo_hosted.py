"""A test double of VDO.Ninja's hosted handshake server, written from its description in
`PROTOCOL.md` (the hosted server's code is not public).

The server names each socket with a UUID. Messages delivered to a member carry the
sender's UUID in `UUID`; a member sends `UUID` to name the target.

    joinroom {roomid[, streamID]}  -> the joiner gets `listing` of the others (UUID and
                                      streamID of those that publish); the others get
                                      `someonejoined`
    seed {streamID}                -> the room gets `videoaddedtoroom`
    play {streamID}                -> the stream's owner gets `offerSDP` naming the viewer
    anything with UUID             -> relayed to that member, UUID rewritten to the sender

It keeps a log of every message it received, for tests to look at.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from obs_launcher.obs_config import free_port


@dataclass
class Member:
    uuid: str
    ws: web.WebSocketResponse
    room: str | None = None
    stream: str | None = None


@dataclass
class HostedDouble:
    port: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        return [str(m.get("request")) for m in self.received if "request" in m]

    async def _send(self, member: Member, message: dict[str, Any]) -> None:
        if not member.ws.closed:
            await member.ws.send_str(json.dumps(message))

    def _room(self, room: str | None, but: Member | None = None) -> list[Member]:
        return [m for m in self.members.values() if room and m.room == room and m is not but]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        me = Member(secrets.token_hex(10), ws)
        self.members[me.uuid] = me
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                except json.JSONDecodeError:
                    continue
                if isinstance(message, dict):
                    self.received.append(message)
                    await self._on_message(me, message)
        finally:
            self.members.pop(me.uuid, None)
        return ws

    async def _on_message(self, me: Member, message: dict[str, Any]) -> None:
        request = message.get("request")
        if "UUID" in message and request not in ("joinroom", "seed", "play"):
            target = self.members.get(str(message["UUID"]))
            if target is not None and target.room == me.room:
                await self._send(target, {**message, "UUID": me.uuid})
            return
        if request == "joinroom":
            me.room = str(message.get("roomid"))
            listing = [{"UUID": m.uuid, **({"streamID": m.stream} if m.stream else {})}
                       for m in self._room(me.room, but=me)]
            await self._send(me, {"request": "listing", "list": listing})
            for other in self._room(me.room, but=me):
                await self._send(other, {"request": "someonejoined", "UUID": me.uuid})
            if message.get("streamID"):
                await self._seed(me, str(message["streamID"]))
        elif request == "seed" and message.get("streamID"):
            await self._seed(me, str(message["streamID"]))
        elif request == "play" and message.get("streamID"):
            owner = next((m for m in self._room(me.room, but=me) if m.stream == message["streamID"]), None)
            if owner is not None:
                await self._send(owner, {"request": "offerSDP", "UUID": me.uuid})

    async def _seed(self, me: Member, stream: str) -> None:
        me.stream = stream
        for other in self._room(me.room, but=me):
            await self._send(other, {"request": "videoaddedtoroom", "UUID": me.uuid, "streamID": stream})


class HostedServer:
    """The double served over TLS on one port; it can be stopped and started again
    (every socket dropped, every UUID forgotten, as a restarted hosted server would)."""

    def __init__(self, cert: str, key: str) -> None:
        self.double = HostedDouble(port=free_port())
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self.double.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.double.port, ssl_context=self._context).start()

    async def stop(self) -> None:
        for member in list(self.double.members.values()):
            await member.ws.close()
        self.double.members.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def hosted_double(cert: str, key: str) -> AsyncIterator[HostedServer]:
    server = HostedServer(cert, key)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
