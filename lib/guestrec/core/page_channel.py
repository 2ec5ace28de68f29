"""Our guest page's control channel: a data channel labelled "guestrec" that the page opens.

The studio tells the page whether it is being recorded (`{"type": "recording", ...}`),
about failures (`{"type": "error", ...}`), and that the studio ended the session
(`{"type": "ended", "message": ...}`, answered by the page with `{"type": "ended-ack"}`
so the studio knows it arrived before it closes the connection). Any other message from
the page is handed to `on_message`; by default the core answers with the current status
(the page may ask again, e.g. after it rebuilt its UI). Guests without the channel
(FFmpeg) work as well.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

log = logging.getLogger(__name__)

CHANNEL_LABEL = "guestrec"
# How long the studio waits for the page to confirm "ended" before closing anyway.
ENDED_ACK_TIMEOUT_S = 0.5


class PageChannel:
    """Implements `core.GuestControl` over the page's data channel."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.channel: Any = None
        self.on_open: Callable[[], None] | None = None
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        self._last_status: str | None = None
        self._ended_ack = asyncio.Event()
        pc.on("datachannel", self._on_datachannel)

    def bind(
        self, on_open: Callable[[], None], on_message: Callable[[dict[str, Any]], None]
    ) -> None:
        self.on_open, self.on_message = on_open, on_message

    def _on_datachannel(self, channel: Any) -> None:
        if channel.label != CHANNEL_LABEL:
            return
        self.channel = channel
        channel.on("message", self._on_message)
        self._last_status = None
        if self.on_open is not None:
            self.on_open()

    def _on_message(self, message: Any) -> None:
        try:
            parsed = json.loads(message) if isinstance(message, str) else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            parsed = {}
        if parsed.get("type") == "ended-ack":
            self._ended_ack.set()
            return
        self._last_status = None  # whatever was asked, the next status goes out again
        if self.on_message is not None:
            self.on_message(parsed)

    @property
    def is_open(self) -> bool:
        return self.channel is not None and self.channel.readyState == "open"

    def send(self, message: dict[str, Any]) -> bool:
        if not self.is_open:
            return False
        try:
            self.channel.send(json.dumps(message))
        except Exception:  # a closing channel is not an error worth more
            log.debug("sending on the page channel failed", exc_info=True)
            return False
        return True

    def send_status(self, status: dict[str, Any], force: bool = False) -> None:
        message = {"type": "recording", **status}
        text = json.dumps(message, sort_keys=True)
        if not force and text == self._last_status:
            return
        if self.send(message):
            self._last_status = text

    def send_error(self, text: str) -> None:
        self.send({"type": "error", "message": text})

    def send_control(self, message: dict[str, Any]) -> bool:
        return self.send(message)

    async def end(self, text: str) -> None:
        """Tell the page the studio ended the session, and wait (briefly) until it says it
        got the message: closing the connection at once could lose it on the way."""
        if not self.send({"type": "ended", "message": text}):
            return
        try:
            await asyncio.wait_for(self._ended_ack.wait(), ENDED_ACK_TIMEOUT_S)
        except TimeoutError:
            log.debug("the page did not confirm the end of its session")
