"""Bounding HTTP connections: strangers must not be able to hold the sockets guests need.

aiohttp has no timeout for a request's headers and keeps idle connections for about an
hour; under the common limit of 1024 descriptors, a few hundred silent connections made
new guests' offers time out. The guard wraps aiohttp's protocol factory and:

- counts open connections, in all and per address; past a cap, the connection that has
  been idle (no request being handled) the longest is closed to make room, the newest
  itself only when every other is busy;
- closes a connection that has been idle for IDLE_SECONDS: one that never completes its
  request headers (a "slowloris") or keeps an idle keep-alive connection open;
- keeps no state per byte: one sweep a second over the open connections.

A middleware marks the time a request is being handled, so a slow offer (ICE gathering,
the finalizing of a recording at DELETE) is never cut off. Bodies have their own timeout
in the WHIP handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256
MAX_PER_ADDRESS = 32
IDLE_SECONDS = 10.0
KEEPALIVE_SECONDS = 5.0  # aiohttp's own keep-alive timeout (its default is an hour)


@dataclass
class _Connection:
    transport: asyncio.BaseTransport
    address: str
    idle_since: float | None  # None while a request is being handled
    busy: int = 0


class ConnectionGuard:
    def __init__(
        self,
        max_connections: int = MAX_CONNECTIONS,
        max_per_address: int = MAX_PER_ADDRESS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.idle_seconds = idle_seconds
        self._open: dict[asyncio.BaseTransport, _Connection] = {}
        self._per_address: dict[str, int] = {}
        self._sweeper: asyncio.Task | None = None
        self.closed_idle = 0
        self.closed_over_cap = 0

    # -- wiring ------------------------------------------------------------------

    def protocol_factory(self, make_protocol: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(self, make_protocol())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable]) -> Any:
        conn = self._open.get(request.transport) if request.transport is not None else None
        if conn is not None:
            conn.busy += 1
            conn.idle_since = None
        try:
            return await handler(request)
        finally:
            if conn is not None:
                conn.busy -= 1
                if not conn.busy:
                    conn.idle_since = asyncio.get_running_loop().time()

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            try:
                await self._sweeper
            except asyncio.CancelledError:
                pass
            self._sweeper = None

    # -- bookkeeping -------------------------------------------------------------

    def _opened(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        now = asyncio.get_running_loop().time()
        self._open[transport] = _Connection(transport, address, idle_since=now)
        count = self._per_address.get(address, 0) + 1
        self._per_address[address] = count
        if count > self.max_per_address:
            self._make_room(transport, lambda c: c.address == address)
        if len(self._open) > self.max_connections:
            self._make_room(transport, lambda c: True)

    def _closed(self, transport: asyncio.BaseTransport | None) -> None:
        conn = self._open.pop(transport, None) if transport is not None else None
        if conn is None:
            return
        left = self._per_address.get(conn.address, 1) - 1
        if left > 0:
            self._per_address[conn.address] = left
        else:
            self._per_address.pop(conn.address, None)

    def _make_room(self, newest: asyncio.BaseTransport, among: Callable[[_Connection], bool]) -> None:
        idle = [c for t, c in self._open.items() if t is not newest and c.idle_since is not None and among(c)]
        victim = min(idle, key=lambda c: c.idle_since).transport if idle else newest  # type: ignore[arg-type, return-value]
        self.closed_over_cap += 1
        if self.closed_over_cap in (1, 100, 10_000):  # a flood logs a few lines, not one per socket
            log.warning("too many HTTP connections: closing idle ones (%d so far)", self.closed_over_cap)
        self._close(victim)

    def _close(self, transport: asyncio.BaseTransport) -> None:
        self._closed(transport)
        try:
            transport.close()
        except Exception:  # noqa: BLE001 - a transport already closing
            pass

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            cutoff = loop.time() - self.idle_seconds
            stale = [c.transport for c in self._open.values()
                     if c.idle_since is not None and c.idle_since < cutoff]
            for transport in stale:
                self.closed_idle += 1
                self._close(transport)

    def stats(self) -> dict[str, int]:
        return {"open": len(self._open), "closed_idle": self.closed_idle,
                "closed_over_cap": self.closed_over_cap}


class _GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's protocol (its slots take no wrappers), and tells
    the guard when a connection opens and closes."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner.connection_made(transport)
        self.guard._opened(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard._closed(self.transport)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedSite(web.TCPSite):
    """aiohttp's TCPSite, with the guard around every connection's protocol."""

    def __init__(self, runner: web.BaseRunner, *args: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(runner, *args, **kwargs)
        self.guard = guard

    async def start(self) -> None:
        # As TCPSite.start (aiohttp 3.14), with the protocol factory wrapped.
        self._runner._reg_site(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            self.guard.protocol_factory(server), self._host, self._port,
            ssl=self._ssl_context, backlog=self._backlog,
            ssl_handshake_timeout=IDLE_SECONDS if self._ssl_context else None,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port,
        )
        if self._server.sockets:
            self._bound_port = self._server.sockets[0].getsockname()[1]
        else:
            self._bound_port = self._port
        self.guard.start()

    async def stop(self) -> None:
        await self.guard.stop()
        await super().stop()
