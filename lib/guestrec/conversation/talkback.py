"""A private line from the studio to one guest: frames pushed in reach that guest alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import av

from .pcm import StereoPcm

if TYPE_CHECKING:
    from .return_feed import ReturnFeed


class Talkback:
    """The studio's voice for one guest only: push decoded frames, close when done."""

    def __init__(self, feed: ReturnFeed, key: str) -> None:
        self._feed, self.key = feed, key
        self._pcm = StereoPcm()

    def push(self, frame: av.AudioFrame) -> None:
        if self._feed.mixer.has_input(self.key) and self._feed.listening:
            self._feed.mixer.push(self.key, self._pcm.convert(frame))

    def close(self) -> None:
        self._feed.mixer.remove_input(self.key)
