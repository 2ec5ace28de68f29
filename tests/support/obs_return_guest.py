"""An aiortc guest asking for the studio's return, on its own asyncio thread, for OBS tests
and benchmarks that are not async.

    guest = GuestThread(url, token, tone_hz=600, video=True)
    guest.join()                       # publishes and waits for the connection
    samples = guest.heard(3.0)         # what it hears in the next 3 s, (n, 2) int16
    guest.guest.colour                 # mean RGB of the latest return picture it decoded
    guest.close()
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
from aiortc.mediastreams import MediaStreamError

from support.obs_harness import GREEN_YUV
from support.return_guest import ReturnGuest
from support.synthetic import SolidVideoTrack, ToneAudioTrack


class WatchingGuest(ReturnGuest):
    """Keeps the mean colour (RGB) of the latest picture of the return it decodes."""

    colour: tuple[float, float, float] | None = None

    async def _read(self, track) -> None:
        if track.kind != "video":
            await super()._read(track)
            return
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.seen.append((time.time(), frame.width, frame.height))
            rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
            self.colour = (float(rgb[0]), float(rgb[1]), float(rgb[2]))


class GuestThread:
    """A ReturnGuest on its own asyncio loop, for a test that is not async."""

    def __init__(self, url: str, token: str, tone_hz: float = 600.0, video: bool = False,
                 decode_video: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="return-guest", daemon=True)
        self.thread.start()
        tracks = [ToneAudioTrack(frequency=tone_hz)]
        if video:
            tracks.append(SolidVideoTrack(320, 180, 15, color=GREEN_YUV))
        self.guest = WatchingGuest(url, token, tracks, decode_video=decode_video)

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _join(self) -> None:
        await self.guest.publish()
        await self.guest.wait_connected(20)

    def join(self) -> None:
        self.run(self._join(), 40)

    def heard(self, seconds: float) -> np.ndarray:
        """What the guest hears during the next `seconds`: (n, 2) int16."""
        start = time.time()
        time.sleep(seconds)
        return self.run(self._between(start, start + seconds))

    async def _between(self, start: float, end: float):
        return self.guest.audio_between(start, end)

    def close(self) -> None:
        try:
            self.run(self.guest.close(), 20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
