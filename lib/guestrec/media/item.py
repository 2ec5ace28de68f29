"""One unit of work for a recording's worker thread: a video frame or audio of a guest."""

from __future__ import annotations

from dataclasses import dataclass

import av


@dataclass
class Item:
    kind: str  # "video" | "audio"
    t: float  # seconds on the guest timeline
    frame: av.VideoFrame | av.AudioFrame | None = None  # decoded (transcode / PCM)
    data: bytes | None = None  # encoded (copy)
    keyframe: bool = False
    codec: str | None = None
    rtp: int | None = None  # unwrapped RTP timestamp (video: 90 kHz)
