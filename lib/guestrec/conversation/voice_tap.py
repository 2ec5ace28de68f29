"""A guest's voice for the mix, decoded the moment its packets arrive.

aiortc's audio jitter buffer lets a frame go only once four more have arrived (80 ms),
and decodes in a thread of its own: fine for a recording, too slow for a conversation.
So the return takes a guest's Opus packets where they enter that buffer (on the loop,
as each arrives), decodes them with a decoder of its own and hands the samples to the
mix at once; the mixer's own small allowance absorbs the network's jitter. The packet
then goes on into aiortc's buffer untouched: recordings and OBS get it as before.

A packet older than one already decoded (late or repeated) is left out of the mix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
import numpy as np
from aiortc import RTCRtpReceiver

from .pcm import RATE

log = logging.getLogger(__name__)


class VoiceTap:
    def __init__(self, receiver: RTCRtpReceiver, on_samples: Callable[[np.ndarray], None],
                 heard: Callable[[], bool] = lambda: True) -> None:
        # aiortc 1.16 keeps the buffer private; its `add` sees every depayloaded packet.
        jitter = receiver._RTCRtpReceiver__jitter_buffer
        self._next_add = jitter.add  # another wrapper (the recording's tap) or aiortc's own
        jitter.add = self._on_packet
        self._on_samples: Callable[[np.ndarray], None] | None = on_samples
        self._heard = heard  # False while nobody listens: no decoding for nobody
        decoder = av.CodecContext.create("libopus", "r")
        decoder.format = "s16"
        decoder.layout = "stereo"
        decoder.sample_rate = RATE
        self._decoder = decoder
        self._last_seq: int | None = None
        self.packets = 0
        self.late = 0
        self._failed = False

    def close(self) -> None:
        """The guest's connection ended: its packets no longer reach the mix."""
        self._on_samples = None

    def _on_packet(self, packet):  # (bool, JitterFrame | None), as aiortc's add
        if self._on_samples is not None and self._heard():
            try:
                self._take(packet)
            except Exception:  # the mix loses this guest; its recording must not
                if not self._failed:
                    log.exception("return audio: a guest's packet could not be decoded")
                self._failed = True
        return self._next_add(packet)

    def _take(self, packet) -> None:
        data = getattr(packet, "_data", b"")
        if not data:
            return
        seq = packet.sequence_number
        if self._last_seq is not None:
            ahead = (seq - self._last_seq) & 0xFFFF
            if ahead == 0 or ahead >= 0x8000:
                self.late += 1
                return
        self._last_seq = seq
        self.packets += 1
        for frame in self._decoder.decode(av.Packet(data)):
            if self._on_samples is not None:
                self._on_samples(frame.to_ndarray().reshape(-1, 2))
