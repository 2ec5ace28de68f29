"""A MediaStreamTrack that hands aiortc already-encoded packets from a short queue.

aiortc's RTCRtpSender packs `av.Packet`s instead of encoding frames. The queue is short on
purpose: a sender that falls behind loses the oldest packets of the return (counted in
`dropped`), never holds up whoever fills the queue. `on_start` runs at the first recv(),
i.e. once the connection is up and the sender starts pulling: nothing is produced for a
guest before it can be sent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class PacketTrack(MediaStreamTrack):
    def __init__(self, kind: str, max_queued: int, on_start: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._queue: deque[av.Packet] = deque()
        self._max = max_queued
        self._ready = asyncio.Event()
        self._on_start = on_start
        self.started = False
        self.sent = 0
        self.dropped = 0

    def put(self, packet: av.Packet) -> bool:
        """Queue a packet; False when the oldest one had to make room."""
        overflow = len(self._queue) >= self._max
        if overflow:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(packet)
        self._ready.set()
        return not overflow

    def clear(self) -> None:
        self._queue.clear()
        self._ready.clear()

    async def recv(self) -> av.Packet:
        if not self.started:
            self.started = True
            if self._on_start is not None:
                self._on_start()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        self.sent += 1
        return self._queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # a recv() waiting ends with MediaStreamError
