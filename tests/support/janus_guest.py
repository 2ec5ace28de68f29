"""A real aiortc guest publishing straight into a Janus VideoRoom room (as a guest of
another studio would), sending CounterVideoTrack frames so files can be checked frame by
frame. Uses the product's own VideoRoom requests to publish.

    guest = JanusGuest(rig, "Alice")
    await guest.publish()        # joined, published, connected
    ... guest.video.index        # frames sent so far
    await guest.hang_up()
"""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from guestrec.ingest.sfu.janus_client import JanusSession
from guestrec.ingest.sfu.videoroom import PublisherRelay
from support.synthetic import CounterVideoTrack, ToneAudioTrack


class JanusGuest:
    def __init__(self, rig, name: str, fps: float = 15.0, width: int = 320, height: int = 240) -> None:
        self.rig, self.name = rig, name
        self.video = CounterVideoTrack(width, height, fps=fps)
        self.audio = ToneAudioTrack()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.session: JanusSession | None = None
        self.relay: PublisherRelay | None = None
        self.published_at = 0  # the video frame index when Janus had the publisher connected

    @property
    def feed(self) -> int:
        assert self.relay is not None
        return self.relay.feed

    async def publish(self, timeout: float = 10.0) -> None:
        self.session = JanusSession(self.rig.url, self.rig.api_secret)
        await self.session.open()
        for track in (self.audio, self.video):
            self.pc.addTransceiver(track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.relay = await PublisherRelay.publish(
            self.session, self.rig.room, self.name, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(self.relay.answer_sdp, "answer"))

        async def connected() -> None:
            while self.pc.connectionState != "connected":
                if self.pc.connectionState in ("failed", "closed"):
                    raise ConnectionError(f"{self.name}: publisher connection {self.pc.connectionState}")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(connected(), timeout)
        self.published_at = self.video.index

    async def hang_up(self) -> int:
        """Leave the room; returns the number of video frames sent."""
        sent = self.video.index
        try:
            if self.relay is not None and self.session is not None and self.session.lost is None:
                await self.relay.leave()
        finally:
            self.video.stop()
            self.audio.stop()
            await self.pc.close()
            if self.session is not None:
                await self.session.close()
        return sent
