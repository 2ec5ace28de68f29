"""Two real aiortc peers in one process: a sender with given tracks and a receiver.

    async with PeerPair([video, audio], on_track=cb, video_codec="video/H264") as pair:
        await pair.connected()
        ...

`on_track(receiver, track)` is called from the receiving peer's "track" event, as the
session layer does. Offer and answer are exchanged in memory over the loopback
interface (real ICE, DTLS, SRTP, RTP and RTCP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamTrack

OnTrack = Callable[[RTCRtpReceiver, MediaStreamTrack], None]


class PeerPair:
    def __init__(
        self,
        tracks: list[MediaStreamTrack],
        on_track: OnTrack | None = None,
        video_codec: str | None = None,
        video_bitrate: int | None = None,
    ) -> None:
        self.tracks = tracks
        self.on_track = on_track
        self.video_codec = video_codec  # e.g. "video/H264" to prefer it over VP8
        self.video_bitrate = video_bitrate  # fixed sender video bitrate (bit/s)
        self.sender = RTCPeerConnection()
        self.receiver = RTCPeerConnection()
        self.received: list[tuple[RTCRtpReceiver, MediaStreamTrack]] = []
        self._connected = asyncio.Event()

    async def __aenter__(self) -> PeerPair:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def start(self) -> None:
        @self.receiver.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            receiver = next(
                t.receiver for t in self.receiver.getTransceivers() if t.receiver.track is track
            )
            self.received.append((receiver, track))
            if self.on_track is not None:
                self.on_track(receiver, track)

        @self.receiver.on("connectionstatechange")
        def _on_state() -> None:
            if self.receiver.connectionState == "connected":
                self._connected.set()

        for track in self.tracks:
            transceiver = self.sender.addTransceiver(track, direction="sendonly")
            if track.kind == "video" and self.video_codec:
                caps = RTCRtpSender.getCapabilities("video")
                preferred = [c for c in caps.codecs if c.mimeType == self.video_codec]
                others = [c for c in caps.codecs if c.mimeType != self.video_codec]
                transceiver.setCodecPreferences(preferred + others)

        await self.sender.setLocalDescription(await self.sender.createOffer())
        await self.receiver.setRemoteDescription(self.sender.localDescription)
        await self.receiver.setLocalDescription(await self.receiver.createAnswer())
        await self.sender.setRemoteDescription(self.receiver.localDescription)
        if self.video_bitrate:
            self.pin_video_bitrate(self.video_bitrate)

    def pin_video_bitrate(self, bitrate: int) -> None:
        """Keep the sender's video encoder at `bitrate` (aiortc follows REMB otherwise)."""
        for sender in self.sender.getSenders():
            if sender.track is not None and sender.track.kind == "video":
                original = sender._handle_rtcp_packet

                async def handle(packet: Any, _orig=original, _sender=sender) -> None:
                    await _orig(packet)
                    encoder = getattr(_sender, "_RTCRtpSender__encoder", None)
                    if encoder is not None:
                        encoder.target_bitrate = bitrate

                sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    async def connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def video_sender(self) -> RTCRtpSender:
        return next(s for s in self.sender.getSenders() if s.track and s.track.kind == "video")

    async def close(self) -> None:
        await self.sender.close()
        await self.receiver.close()


def delay_incoming_rtp(receiver: RTCRtpReceiver, seconds: float) -> None:
    """Deliver this receiver's RTP packets `seconds` late, in order (a slower network path).

    RTCP is not delayed, so a receiver that trusts arrival times goes out of sync while one
    that maps timestamps through the RTCP sender reports stays in sync.
    """
    loop = asyncio.get_running_loop()
    original = receiver._handle_rtp_packet

    pending: set[asyncio.Task] = set()  # the loop holds tasks only weakly

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        def deliver() -> None:
            task = loop.create_task(original(packet, arrival_time_ms))
            pending.add(task)
            task.add_done_callback(pending.discard)

        loop.call_later(seconds, deliver)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
