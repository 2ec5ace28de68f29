"""A GuestSink for tests: counts what the core hands it (calls may come from any thread).

    sink = CountingSink("Ann")
    sink.counts  # {"connected": 1, "video": 120, "audio": 400, "disconnected": 0}
"""

from __future__ import annotations

import threading


class CountingSink:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.counts = {"connected": 0, "video": 0, "audio": 0, "disconnected": 0}
        self.video_sizes: set[tuple[int, int]] = set()

    def _add(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def on_video(self, frame, timestamp_ns: int) -> None:
        self.video_sizes.add((frame.width, frame.height))
        self._add("video")

    def on_audio(self, frame, timestamp_ns: int) -> None:
        self._add("audio")

    def on_connected(self) -> None:
        self._add("connected")

    def on_disconnected(self) -> None:
        self._add("disconnected")
