"""One guest's decoded media as the return feed takes it in: a `GuestSink`."""

from __future__ import annotations

from typing import Protocol

import av
import numpy as np

from .pcm import StereoPcm


class InputTaker(Protocol):
    def guest_audio(self, name: str, samples: np.ndarray) -> None: ...

    def guest_video(self, name: str, frame: av.VideoFrame) -> None: ...

    def guest_gone(self, name: str) -> None: ...

    def wants_decoded(self, name: str, kind: str) -> bool: ...


class ReturnInput:
    """Called on the loop by the guest's media, like any sink."""

    def __init__(self, feed: InputTaker, name: str) -> None:
        self.feed = feed
        self.name = name
        self._pcm = StereoPcm()

    def wants_decoded(self, kind: str) -> bool:
        """Only while somebody hears or sees this guest through the return."""
        return self.feed.wants_decoded(self.name, kind)

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None:
        self.feed.guest_audio(self.name, self._pcm.convert(frame))

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None:
        self.feed.guest_video(self.name, frame)

    def on_connected(self) -> None:
        pass

    def on_disconnected(self) -> None:
        """The guest is gone for good (a dropped one is taken out sooner, by its connection)."""
        self.feed.guest_gone(self.name)
