"""OBS's program picture, small, as the return video guests see ("Guests see: OBS program").

    tap = ObsProgramTap(picture)     # picture: conversation.PushedPicture (640x360)
    tap.set_enabled(True)            # registers libobs's raw video callback
    tap.close()                      # at script unload / OBS exit

libobs scales the program to the picture's size in I420 itself and calls the callback on
its video thread for every frame it outputs. The callback copies the three planes only
when the return's encoder asked for a picture lately and at most 15 times a second, so
with nobody watching it returns at once. Removing the callback waits for a call in
progress (libobs holds its lock around the calls).

While the callback is registered, OBS renders and downloads its program every frame as
for a recording (what that costs is in tests/bench/README.md).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable

import numpy as np

from . import libobs as L

LogFn = Callable[[str, str], None]


class ObsProgramTap:
    def __init__(self, picture, log: LogFn = lambda level, text: None, lib: L.LibObs | None = None) -> None:
        self.picture = picture  # conversation.PushedPicture
        self._lib = lib or L.api()
        self._log = log
        self._lock = threading.Lock()
        self.enabled = False
        self._closed = False  # once closed, never registered again (a late timer call)
        # BT.601 limited range, as guests' decoders take VP8 by default.
        self._scale = L.VideoScaleInfo(format=L.VIDEO_FORMAT_I420, width=picture.width, height=picture.height,
                                       range=L.VIDEO_RANGE_PARTIAL, colorspace=L.VIDEO_CS_601)
        # Kept for as long as libobs may call it: a collected callback would crash OBS.
        self._callback = L.RAW_VIDEO_FN(self._on_frame)
        self.calls = 0
        self.copies = 0
        self.failures = 0
        self.copy_ms = 0.0  # time spent copying, in all

    def set_enabled(self, on: bool) -> None:
        with self._lock:
            if on == self.enabled or (on and self._closed):
                return
            obs = self._lib.obs
            if on:
                obs.obs_add_raw_video_callback(ctypes.byref(self._scale), self._callback, None)
            else:
                obs.obs_remove_raw_video_callback(self._callback, None)
            self.enabled = on
        self._log("info", "reading OBS's program for the guests" if on else "no longer reading OBS's program")

    def close(self) -> None:
        """Stop for good (idempotent); say what the callback did."""
        with self._lock:
            self._closed = True
        self.set_enabled(False)
        if self.calls:
            mean = self.copy_ms / self.copies if self.copies else 0.0
            self._log("info", f"OBS program tap: {self.calls} frames from OBS, {self.copies} copied "
                              f"(mean {mean:.2f} ms), {self.failures} failed")

    def _on_frame(self, _param: int, data) -> None:
        """OBS's video thread: copy the planes when the return wants them; never raise."""
        self.calls += 1
        try:
            if not self.picture.wanted():
                return
            started = time.perf_counter()
            frame = data.contents
            h = self.picture.height
            planes = [self._plane(frame, index, rows) for index, rows in ((0, h), (1, h // 2), (2, h // 2))]
            self.picture.push(*planes)
            self.copies += 1
            self.copy_ms += (time.perf_counter() - started) * 1000
        except Exception:  # noqa: BLE001 - an exception cannot cross into libobs
            self.failures += 1

    @staticmethod
    def _plane(frame, index: int, rows: int) -> np.ndarray:
        stride = int(frame.linesize[index])
        raw = ctypes.string_at(frame.data[index], stride * rows)  # a copy: OBS reuses its buffer
        return np.frombuffer(raw, dtype=np.uint8).reshape(rows, stride)
