"""An aiortc guest that rejoins after a drop the way the guest page does, for tests.

    guest = ReconnectingGuest(url, token, fps=15)
    await guest.join()                # publish, wait connected
    ... the network drops; the guest notices (ICE consent), rejoins with its resume secret
    await guest.wait_reconnected(n=1, timeout=60)
    await guest.leave()               # DELETE + close
    guest.sent                        # [(frame number, wall time it was on the wire)]

Its camera is a `LiveCounterTrack`: frame n exists at origin + n/fps whether or not a
connection takes it (like a real camera), and carries n in its picture (see
synthetic.CounterVideoTrack and media_probe.read_counter). Every connection gets new
tracks on one shared clock, so frame numbers go on across connections, and `sent`
lists exactly the frames a connected sender encoded and sent, with the time they left.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from .synthetic import VIDEO_CLOCK, VIDEO_TIME_BASE, CounterVideoTrack, SharedClock, ToneAudioTrack
from .whip_client import WhipClient, WhipError

log = logging.getLogger(__name__)

RESUME_HEADER = "Guestrec-Resume"
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # as the guest page


class LiveCounterTrack(CounterVideoTrack):
    """A counter camera that never queues: a frame not taken in its slot is gone."""

    def __init__(self, clock: SharedClock, sent: list[tuple[int, float]], fps: float = 15.0) -> None:
        super().__init__(320, 240, fps, clock=clock)
        self._sent = sent
        self.index = -1
        self._handed: int | None = None

    async def recv(self) -> VideoFrame:
        # aiortc's sender encodes and sends a frame before it asks for the next one: the
        # frame handed out last time is on the wire now.
        if self._handed is not None:
            self._sent.append((self._handed, time.time()))
            self._handed = None
        if self.readyState != "live":
            raise MediaStreamError
        origin = self.clock.origin()
        now_slot = math.ceil((time.time() - origin) * self.fps)
        self.index = max(self.index + 1, now_slot)
        wait = origin + self.index / self.fps - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = self.make_frame(self.index, self.index / self.fps)
        frame.pts = round(self.index / self.fps * VIDEO_CLOCK)
        frame.time_base = VIDEO_TIME_BASE
        self._handed = self.index
        return frame


class ReconnectingGuest:
    def __init__(self, url: str, token: str, fps: float = 15.0, attempt_timeout: float = 4.0,
                 give_up_after: float = 120.0) -> None:
        self.url, self.token, self.fps = url, token, fps
        self.attempt_timeout, self.give_up_after = attempt_timeout, give_up_after
        self.clock = SharedClock()
        self.sent: list[tuple[int, float]] = []
        self.client: WhipClient | None = None
        self.secret: str | None = None
        self.names: list[str] = []  # the name the studio gave, per connection
        self.connect_seconds: float | None = None
        self.drops: list[float] = []  # wall times a drop was noticed
        self.reconnect_seconds: list[float] = []  # drop noticed -> connected again
        self.attempts = 0
        self._leaving = False
        self._watch: asyncio.Task | None = None
        self._reconnected = asyncio.Event()

    def _new_client(self) -> WhipClient:
        headers = {RESUME_HEADER: self.secret} if self.secret else None
        # The microphone starts afresh with each connection (its own clock: a tone track on
        # the old clock would rush out the samples of the outage); the camera goes on.
        tracks = [ToneAudioTrack(), LiveCounterTrack(self.clock, self.sent, self.fps)]
        return WhipClient(self.url, self.token, tracks, headers=headers)

    async def _connect(self, timeout: float) -> WhipClient:
        client = self._new_client()
        try:
            await client.publish()
            await client.wait_connected(timeout)
        except BaseException:
            await self._drop_client(client)
            raise
        self.secret = client.resume_secret or self.secret
        self.names.append(client.given_name or "")
        return client

    async def join(self) -> None:
        started = time.monotonic()
        self.client = await self._connect(15.0)
        self.connect_seconds = time.monotonic() - started
        self._watch = asyncio.ensure_future(self._watch_connection())

    async def _watch_connection(self) -> None:
        while not self._leaving:
            client = self.client
            if client is not None and client.pc.connectionState in ("failed", "closed"):
                await self._reconnect()
            await asyncio.sleep(0.1)

    async def _reconnect(self) -> None:
        noticed = time.monotonic()
        self.drops.append(time.time())
        old, self.client = self.client, None
        if old is not None:
            await self._drop_client(old)  # no DELETE: that would end the take
        for attempt in range(1000):
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            if self._leaving or time.monotonic() - noticed > self.give_up_after:
                return
            self.attempts += 1
            try:
                self.client = await self._connect(self.attempt_timeout)
            except (TimeoutError, OSError, ConnectionError, WhipError) as exc:
                log.info("rejoin attempt %d failed: %r", attempt + 1, exc)
                continue
            self.reconnect_seconds.append(time.monotonic() - noticed)
            self._reconnected.set()
            return

    async def wait_reconnected(self, timeout: float) -> None:
        await asyncio.wait_for(self._reconnected.wait(), timeout)

    @staticmethod
    async def _drop_client(client: WhipClient) -> None:
        for track in client.tracks:
            track.stop()
        await client.pc.close()

    @property
    def left(self) -> bool:
        return self._leaving

    async def leave(self) -> None:
        self._leaving = True
        if self._watch is not None:
            self._watch.cancel()
        if self.client is not None:
            await self.client.close()
