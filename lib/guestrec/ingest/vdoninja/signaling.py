"""The WebSocket to a VDO.Ninja handshake server, kept open: it reconnects with backoff.

Only the handshake travels here; guests already connected talk to us peer to peer, so a
dropped socket does not disturb them. After every (re)connect `on_open` runs, which is
where the room is joined again.

TLS is verified against the system trust store (`ssl.create_default_context`, which also
honours `SSL_CERT_FILE`), plus an optional extra CA file for a self-hosted server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

MessageHandler = Callable[[dict[str, Any]], Awaitable[None]]
OpenHandler = Callable[[], Awaitable[None]]

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 15.0
HEARTBEAT_S = 20.0
MAX_MESSAGE_BYTES = 1 << 20  # an SDP with many candidates is a few kB


def tls_context(extra_ca: Path | None = None) -> ssl.SSLContext:
    """Verify the server against the system's trust store, and `extra_ca` if given."""
    context = ssl.create_default_context()
    if extra_ca is not None:
        context.load_verify_locations(cafile=str(extra_ca))
    return context


class SignalingSocket:
    """One handshake server connection that keeps coming back until `close()`."""

    def __init__(
        self,
        url: str,
        on_message: MessageHandler,
        on_open: OpenHandler,
        ssl_context: ssl.SSLContext | None = None,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        if not url.startswith(("wss://", "ws://")):
            raise ValueError(f"the handshake server must be a wss:// (or ws://) URL, not {url!r}")
        self.url = url
        self._on_message = on_message
        self._on_open = on_open
        self._on_state = on_state
        self._ssl = ssl_context if ssl_context is not None else tls_context()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self.state = "idle"  # idle, connecting, open, retrying, closed
        self.last_error: str | None = None
        self.connects = 0  # successful connections, 1 + reconnects
        self.waits: list[float] = []  # the waits before the latest retries, for the status

    @property
    def open(self) -> bool:
        return self._ws is not None and not self._ws.closed

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def send(self, message: dict[str, Any]) -> bool:
        """Send a message; False when the socket is down (the caller may retry later)."""
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            log.debug("signaling send failed: %s", exc)
            return False
        return True

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._set_state("closed")

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                log.exception("signaling state listener failed")

    async def _run(self) -> None:
        delay = FIRST_RETRY_S
        async with aiohttp.ClientSession() as http:
            while not self._closing:
                self._set_state("connecting")
                try:
                    async with http.ws_connect(
                        self.url, ssl=self._ssl, heartbeat=HEARTBEAT_S,
                        max_msg_size=MAX_MESSAGE_BYTES,
                    ) as ws:
                        self._ws = ws
                        self.connects += 1
                        self.last_error = None
                        delay = FIRST_RETRY_S
                        self._set_state("open")
                        log.info("handshake server %s connected", self.url)
                        await self._on_open()
                        await self._read(ws)
                    if not self._closing:
                        self.last_error = "the handshake server closed the connection"
                except asyncio.CancelledError:
                    raise
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    self.last_error = f"cannot reach the handshake server: {exc}"
                finally:
                    self._ws = None
                if self._closing:
                    break
                log.warning("%s; retrying in %.1f s", self.last_error, delay)
                self.waits = [*self.waits, delay][-8:]
                self._set_state("retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_S)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = json.loads(msg.data)
            except json.JSONDecodeError:
                log.warning("handshake server sent text that is not JSON: %.80r", msg.data)
                continue
            if not isinstance(message, dict):
                continue
            try:
                await self._on_message(message)
            except Exception:
                log.exception("handling a handshake message failed: %.200r", message)
