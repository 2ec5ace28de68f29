"""A WHIP guest (aiortc) that asks for the studio's return and keeps what it gets.

    guest = ReturnGuest(url, token, [ToneAudioTrack(440), SolidVideoTrack(...)])
    await guest.publish()          # sendrecv sections: the studio may answer with a return
    guest.heard                    # [(arrival time.time(), (n, 2) int16 samples)], decoded
    guest.seen                     # [(arrival time.time(), width, height)] of decoded pictures
    guest.keyframes                # VP8 keyframes received (counted before aiortc decodes)
    await guest.request_keyframe()   # a PLI to the studio, as a decoder that lost its way
    guest.audio_since(t0)          # the samples heard after t0, as one array

`kinds_without_track=("audio",)` adds a sendrecv section that sends nothing (a guest
whose microphone gives nothing still asks to hear). `direction="sendonly"` makes it
an ordinary publisher. `decode_video=False` receives the studio's picture (packets,
RTCP) without decoding it: many guests in one process cost less.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from guestrec.media.bitstream import vp8_is_keyframe
from support.whip_client import WhipClient


class ReturnGuest(WhipClient):
    def __init__(
        self, url: str, token: str, tracks: Iterable[MediaStreamTrack], *,
        direction: str = "sendrecv", kinds_without_track: Iterable[str] = (),
        decode_video: bool = True, **kwargs,
    ) -> None:
        super().__init__(url, token, tracks=[], data_channel=kwargs.pop("data_channel", False), **kwargs)
        self.own_tracks = list(tracks)
        self.direction = direction
        self.kinds_without_track = list(kinds_without_track)
        self.decode_video = decode_video
        self.heard: list[tuple[float, np.ndarray]] = []
        self.seen: list[tuple[float, int, int]] = []
        self.keyframes = 0
        self.connected_at: float | None = None
        self._readers: list[asyncio.Task] = []
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def publish(self) -> str:
        for track in self.own_tracks:
            self.pc.addTransceiver(track, direction=self.direction)
        for kind in self.kinds_without_track:
            self.pc.addTransceiver(kind, direction="sendrecv")
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                self._count_keyframes(transceiver.receiver)
                if not self.decode_video:
                    self._skip_decoding(transceiver.receiver)
        return await super().publish()

    @staticmethod
    def _skip_decoding(receiver) -> None:
        queue = receiver._RTCRtpReceiver__decoder_queue
        put = queue.put
        # Encoded frames are dropped; the None that stops aiortc's decoder thread is not.
        queue.put = lambda item: put(item) if item is None else None

    def _count_keyframes(self, receiver) -> None:
        # aiortc's libvpx decoder does not flag keyframes: look at each complete encoded
        # frame as it leaves the jitter buffer instead.
        jitter = receiver._RTCRtpReceiver__jitter_buffer
        add = jitter.add

        def counting(packet):
            pli, frame = add(packet)
            if frame is not None and vp8_is_keyframe(frame.data):
                self.keyframes += 1
            return pli, frame

        jitter.add = counting

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.time()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.time()
            if track.kind == "audio":
                self.heard.append((now, frame.to_ndarray().reshape(-1, 2).copy()))
            else:
                self.seen.append((now, frame.width, frame.height))

    async def request_keyframe(self) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.receiver.track is not None:
                for source in transceiver.receiver.getSynchronizationSources():
                    await transceiver.receiver._send_rtcp_pli(source.source)

    def audio_between(self, start: float, end: float = float("inf")) -> np.ndarray:
        chunks = [samples for at, samples in self.heard if start <= at < end]
        return np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.int16)

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        try:
            await super().close()
        finally:
            for track in self.own_tracks:
                track.stop()
