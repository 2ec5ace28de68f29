"""One of OBS's audio mix tracks, read as the studio's sound for the guests' return.

    tap = ObsMixTap(feed)          # feed: conversation.PushedFeed
    tap.set_track(6)               # track 1..6; 0: none (read nothing)
    tap.close()                    # at script unload / OBS exit

libobs calls the raw audio callback on its audio thread for every 1024 samples of the
track's mix, converted by libobs itself to 48 kHz stereo 16-bit. The callback only copies
the samples into the feed (a short lock, no asyncio): OBS's audio waits for it. Removing
the callback waits for a call in progress to end (libobs holds its input lock around the
calls), so after close() nothing calls into Python any more.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable

import numpy as np

from . import libobs as L

LogFn = Callable[[str, str], None]
TRACKS = range(1, L.MAX_AUDIO_MIXES + 1)
SLOW_CALL_MS = 10.0  # OBS's audio ticks are 21 ms: a call this long delays the next one


class ObsMixTap:
    def __init__(self, feed, log: LogFn = lambda level, text: None, lib: L.LibObs | None = None) -> None:
        self.feed = feed  # anything with push((n, 2) int16 samples)
        self._lib = lib or L.api()
        self._log = log
        self._lock = threading.Lock()
        self.track = 0
        self._closed = False  # once closed, never registered again (a late timer call)
        self._conversion = L.AudioConvertInfo(samples_per_sec=48000, format=L.AUDIO_FORMAT_16BIT,
                                              speakers=L.SPEAKERS_STEREO)
        # Kept for as long as libobs may call it: a collected callback would crash OBS.
        self._callback = L.RAW_AUDIO_FN(self._on_audio)
        self.calls = 0
        self.failures = 0
        self.slowest_call_ms = 0.0
        self.slow_calls = 0  # calls that held OBS's audio thread over SLOW_CALL_MS

    def set_track(self, track: int) -> None:
        """Read mix track `track` (1..6) from now on; 0 reads none."""
        if track not in TRACKS and track != 0:
            raise ValueError(f"OBS has audio tracks 1 to {L.MAX_AUDIO_MIXES}, not {track}")
        with self._lock:
            if track == self.track or (track and self._closed):
                return
            obs = self._lib.obs
            if self.track:
                obs.obs_remove_raw_audio_callback(self.track - 1, self._callback, None)
            if track:
                conversion = ctypes.byref(self._conversion)
                obs.obs_add_raw_audio_callback(track - 1, conversion, self._callback, None)
            self.track = track
        self._log("info", f"reading OBS's audio track {track} for the guests" if track
                  else "no longer reading an OBS audio track")

    def close(self) -> None:
        """Stop reading for good (idempotent); say how the callback fared."""
        with self._lock:
            self._closed = True
        self.set_track(0)
        if self.calls:
            self._log("info", f"OBS track tap: {self.calls} calls, {self.slow_calls} over "
                              f"{SLOW_CALL_MS:.0f} ms, slowest {self.slowest_call_ms:.2f} ms, "
                              f"{self.failures} failed")

    def _on_audio(self, _param: int, _mix: int, data) -> None:
        """OBS's audio thread: copy the samples out, quickly, and never raise into C."""
        started = time.perf_counter()
        try:
            audio = data.contents
            frames = int(audio.frames)
            if frames and audio.data[0]:
                raw = ctypes.string_at(audio.data[0], frames * 4)  # 2 channels of int16
                self.feed.push(np.frombuffer(raw, dtype=np.int16).reshape(frames, 2))
            self.calls += 1
        except Exception:  # noqa: BLE001 - an exception cannot cross into libobs
            self.failures += 1
        took = (time.perf_counter() - started) * 1000
        if took > SLOW_CALL_MS:
            self.slow_calls += 1
        if took > self.slowest_call_ms:
            self.slowest_call_ms = took
