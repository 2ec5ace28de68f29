"""Server-sent events for the control room: `GET /api/events` streams named parts of the
studio's state (guests, invites, files...) as JSON, each sent again only when it changed.

A part is read again at once when the studio signals a change (a guest joins or leaves,
an invite is made) and every TICK_S besides (recording time and bitrates move on their
own). A comment line every KEEPALIVE_S keeps proxies from closing a quiet stream. Every
stream ends when the server shuts down.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

TICK_S = 0.5
KEEPALIVE_S = 15.0


class ChangeSignal:
    """Wakes every waiting stream; `notify` is called on the loop."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        """Until the next change, or `timeout` seconds."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            self._waiters.discard(waiter)


def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


class EventStreams:
    """The open streams of one application; `parts` name what each stream carries."""

    def __init__(self, parts: dict[str, Callable[[], Any]], changes: ChangeSignal) -> None:
        self._parts = parts
        self._changes = changes
        self._closing = asyncio.Event()
        self.open = 0

    async def close(self, app: web.Application | None = None) -> None:
        """on_shutdown: every stream ends, so stopping the server never waits on them."""
        self._closing.set()
        self._changes.notify()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        self.open += 1
        sent: dict[str, str] = {}
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        try:
            await response.write(b"retry: 1000\n\n")
            while not self._closing.is_set():
                for name, read in self._parts.items():
                    data = json.dumps(read(), separators=(",", ":"), default=str)
                    if sent.get(name) != data:
                        await response.write(sse(name, data))
                        sent[name], quiet_since = data, loop.time()
                if loop.time() - quiet_since > KEEPALIVE_S:
                    await response.write(b": still here\n\n")
                    quiet_since = loop.time()
                await self._changes.wait(TICK_S)
        except ConnectionResetError:
            pass  # the page went away
        except Exception:
            log.exception("the control room's event stream failed")
        finally:
            self.open -= 1
        return response
