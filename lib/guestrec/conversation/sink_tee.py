"""One guest's decoded media to two sinks (in OBS: its source, and the return feed)."""

from __future__ import annotations

import logging

import av

from ..common.interfaces import GuestSink, sink_wants

log = logging.getLogger(__name__)


class SinkTee:
    def __init__(self, *sinks: GuestSink) -> None:
        self.sinks = sinks

    @classmethod
    def of(cls, *sinks: GuestSink | None) -> GuestSink | None:
        """The sinks that exist, as one sink: None for none, the sink itself for one."""
        present = [s for s in sinks if s is not None]
        if len(present) <= 1:
            return present[0] if present else None
        return cls(*present)

    def wants_decoded(self, kind: str) -> bool:
        return any(sink_wants(sink, kind) for sink in self.sinks)

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None:
        for sink in self.sinks:
            self._call(sink.on_video, frame, timestamp_ns)

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None:
        for sink in self.sinks:
            self._call(sink.on_audio, frame, timestamp_ns)

    def on_connected(self) -> None:
        for sink in self.sinks:
            self._call(sink.on_connected)

    def on_disconnected(self) -> None:
        for sink in self.sinks:
            self._call(sink.on_disconnected)

    @staticmethod
    def _call(method, *args) -> None:
        try:
            method(*args)
        except Exception:  # one sink's failure must not starve the other
            log.exception("a guest sink failed")
