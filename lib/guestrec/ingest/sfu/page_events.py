"""The guest page's recording state as server-sent events, for guests whose media goes to
an SFU (their data channel ends at Janus, not at the studio).

The page opens `GET /whip/session/<id>/events?token=...` (an EventSource cannot send
headers) after its WHIP answer names it in a `Link` header. Each event's data is the JSON
the data channel carried: {"type": "recording", ...} or {"type": "error", ...}.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

LINK_REL = "urn:guestrec:events"
QUEUE_LIMIT = 32  # a page that reads nothing loses old states, never the studio's memory
HEARTBEAT_S = 15.0  # a comment line keeps proxies from closing a quiet stream


class PageEvents:
    """Implements `core.GuestControl` for every event stream one guest's page has open."""

    def __init__(self) -> None:
        self._streams: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._last_status: dict[str, Any] | None = None
        self._last_error: dict[str, Any] | None = None
        self._on_open: Callable[[], None] | None = None

    def bind(self, on_open: Callable[[], None],
             on_message: Callable[[dict[str, Any]], None]) -> None:
        self._on_open = on_open  # nothing comes back from the page on this channel

    def send_status(self, status: dict[str, Any], force: bool = False) -> None:
        message = {"type": "recording", **status}
        if not force and message == self._last_status:
            return
        self._last_status = message
        self._push(message)

    def send_error(self, text: str) -> None:
        self._last_error = {"type": "error", "message": text}
        self._push(self._last_error)

    def send_control(self, message: dict[str, Any]) -> bool:
        """A director's request (mute, message, bitrate, hang-up); False with no page listening."""
        self._push(message)
        return bool(self._streams)

    async def end(self, text: str) -> None:
        """The studio ended the session; the page closes on its own (no answer comes back
        on this channel, so none is waited for)."""
        self._push({"type": "ended", "message": text})

    def close(self) -> None:
        """End every open stream (the guest left)."""
        for queue in self._streams:
            self._offer(queue, None)

    def _push(self, message: dict[str, Any]) -> None:
        for queue in self._streams:
            self._offer(queue, message)

    @staticmethod
    def _offer(queue: asyncio.Queue[dict[str, Any] | None], item: dict[str, Any] | None) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self._streams.append(queue)
        # What the page missed before it listened: the last state, and an error if any.
        for message in (self._last_status, self._last_error):
            if message is not None:
                self._offer(queue, message)
        if self._on_open is not None:
            self._on_open()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if item is None:
                    break
                await response.write(f"data: {json.dumps(item)}\n\n".encode())
        except ConnectionResetError:
            pass  # the page went away
        finally:
            self._streams.remove(queue)
        return response
