"""A guest's return through the SFU, as the guest page opens it, with aiortc.

After its WHIP publication (through `serve --sfu`), a guest opens the two connections the
answer's Link header names (rel="urn:guestrec:return"): its sound into Janus's
AudioBridge room (its own voice goes in, everyone else's comes out) and the studio's
picture from the VideoRoom (Janus offers, the guest answers).

    lines = SfuReturnLines(guest, ToneAudioTrack(500))   # guest: a published WhipClient
    await lines.open()                                    # AssertionError with the status if refused
    lines.heard, lines.seen, lines.colour, lines.audio_between(t0)
    await lines.close()
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urljoin

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from support.whip_client import WhipClient, post_raw

RETURN_REL = 'rel="urn:guestrec:return"'


def return_url(guest: WhipClient) -> str | None:
    for value in guest.headers.getall("Link", []):
        for link in value.split(","):
            if RETURN_REL in link:
                return urljoin(guest.url, link[link.index("<") + 1:link.index(">")])
    return None


class SfuReturnLines:
    def __init__(self, guest: WhipClient, voice: MediaStreamTrack | None) -> None:
        url = return_url(guest)
        assert url is not None, f"no return link in {guest.headers.getall('Link', [])}"
        self.url = url
        self.auth = {"Authorization": f"Bearer {guest.token}"}
        self.voice = voice
        self.sound = RTCPeerConnection()
        self.picture = RTCPeerConnection()
        self.heard: list[tuple[float, np.ndarray]] = []
        self.seen: list[tuple[float, int, int]] = []
        self.colour: tuple[float, float, float] | None = None  # of a recent picture
        self._readers: list[asyncio.Task] = []
        for pc in (self.sound, self.picture):
            self._keep_tracks(pc)

    def _keep_tracks(self, pc: RTCPeerConnection) -> None:
        pc.on("track", lambda track: self._readers.append(asyncio.ensure_future(self._read(track))))

    async def open_sound(self) -> int:
        """The sound connection; the studio's status (201 when it took it). Called again
        after a refusal, it tries on a new connection."""
        if self.sound.getTransceivers():
            await self.sound.close()
            self.sound = RTCPeerConnection()
            self._keep_tracks(self.sound)
        if self.voice is not None:
            self.sound.addTransceiver(self.voice, direction="sendrecv")
        else:
            self.sound.addTransceiver("audio", direction="recvonly")
        await self.sound.setLocalDescription(await self.sound.createOffer())
        status, body, _ = await post_raw(self.url + "/audio", self.sound.localDescription.sdp,
                                         {**self.auth, "Content-Type": "application/sdp"})
        if status == 201:
            await self.sound.setRemoteDescription(RTCSessionDescription(body, "answer"))
        return status

    async def open_picture(self) -> int:
        status, body, _ = await post_raw(self.url + "/video", None, self.auth)
        if status != 201:
            return status
        await self.picture.setRemoteDescription(RTCSessionDescription(body, "offer"))
        await self.picture.setLocalDescription(await self.picture.createAnswer())
        status, body, _ = await post_raw(self.url + "/video", self.picture.localDescription.sdp,
                                         {**self.auth, "Content-Type": "application/sdp"}, method="PATCH")
        assert status == 204, (status, body)
        return 201

    async def open(self) -> None:
        assert await self.open_sound() == 201
        assert await self.open_picture() == 201

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "audio":
                channels = len(frame.layout.channels)
                self.heard.append((time.time(), frame.to_ndarray().reshape(-1, channels).copy()))
            else:
                self.seen.append((time.time(), frame.width, frame.height))
                if len(self.seen) % 5 == 0:  # the picture's mean RGB now and then: cheap enough
                    rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                    self.colour = (float(rgb[0]), float(rgb[1]), float(rgb[2]))

    def audio_between(self, start: float, end: float = float("inf")) -> np.ndarray:
        chunks = [samples for at, samples in self.heard if start <= at < end]
        return np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.int16)

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await self.sound.close()
        await self.picture.close()
        if self.voice is not None:
            self.voice.stop()
