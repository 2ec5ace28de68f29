"""One guest's return audio: the Opus packets of its own mix, as an aiortc track."""

from __future__ import annotations

from collections.abc import Callable

from .packet_track import PacketTrack

MAX_QUEUED = 3  # 60 ms: a sender further behind loses the oldest return audio


class ReturnAudioTrack(PacketTrack):
    kind = "audio"

    def __init__(self, guest: str, on_start: Callable[[], None] | None = None) -> None:
        super().__init__("audio", MAX_QUEUED, on_start)
        self.guest = guest
