"""Guests' voices reach the studio's mix sooner.

aiortc's audio jitter buffer lets a frame go only once four more frames have arrived:
80 ms of delay before the studio even hears a guest, more than a conversation can spare.
Opus sends one packet per frame and aiortc can only tell a frame is complete when the
next one starts, so a prefetch of one is the least it can do: 20 ms. Losses and
reordering are handled as before (a missing packet still holds the frames after it).
The recording is unaffected: it keeps its timestamps, it only gets the frames sooner.
"""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection

log = logging.getLogger(__name__)

AUDIO_PREFETCH = 1


def quicken_audio_receive(pc: RTCPeerConnection) -> int:
    """Lower the prefetch of every audio receiver of `pc`; returns how many were changed.
    Call after the remote description is set (the receivers exist then)."""
    changed = 0
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        # aiortc 1.16 keeps the buffer private; without it the default delay stays.
        jitter = getattr(transceiver.receiver, "_RTCRtpReceiver__jitter_buffer", None)
        if jitter is not None and hasattr(jitter, "_prefetch"):
            jitter._prefetch = AUDIO_PREFETCH
            changed += 1
        else:
            log.debug("aiortc's audio jitter buffer not found; the receive delay stays")
    return changed
