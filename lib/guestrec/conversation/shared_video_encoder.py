"""One VP8 encode of the return picture, whatever the number of guests watching it.

    encoder = SharedVideoEncoder(grid.compose, loop)
    encoder.subscribe(track)        # a SharedVideoTrack; a keyframe follows for it
    encoder.request_keyframe()      # any guest's PLI/FIR: one keyframe for everyone
    encoder.close()                 # stops and joins the thread

The picture is made and encoded in the encoder's own thread at a fixed rate, while
someone watches; packets go to every watching track on the loop. A frame that cannot be
made in time is skipped (the return loses a frame; nothing else waits for it).
Keyframe requests are honoured at most every `KEYFRAME_MIN_INTERVAL` seconds, so a burst
of PLIs from many guests costs one keyframe.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import av

log = logging.getLogger(__name__)

FPS = 15
BITRATE = 600_000
KEYFRAME_MIN_INTERVAL = 0.5
VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)


class PacketSink(Protocol):
    def offer(self, packet: av.Packet) -> None: ...


class SharedVideoEncoder:
    def __init__(
        self, picture: Callable[[], av.VideoFrame], loop: asyncio.AbstractEventLoop,
        fps: int = FPS, bitrate: int = BITRATE,
    ) -> None:
        self._picture = picture
        self._loop = loop
        self.fps = fps
        self.bitrate = bitrate
        self._watchers: list[PacketSink] = []  # touched on the loop only
        self._watching = threading.Event()  # set while anyone watches
        self._stop = threading.Event()
        self._keyframe_wanted = True
        self._last_keyframe = 0.0
        self._thread: threading.Thread | None = None
        self._codec: av.CodecContext | None = None
        # What the studio did, for status and tests.
        self.encoders_opened = 0
        self.frames_encoded = 0
        self.keyframes = 0
        self.frames_skipped = 0
        self.encode_seconds = 0.0  # thread CPU time spent making and encoding pictures

    # -- on the loop --------------------------------------------------------------

    def subscribe(self, watcher: PacketSink) -> None:
        if watcher not in self._watchers:
            self._watchers.append(watcher)
        self.request_keyframe()
        self._watching.set()
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="guestrec-return-video", daemon=True)
            self._thread.start()

    def unsubscribe(self, watcher: PacketSink) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)
        if not self._watchers:
            self._watching.clear()

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def set_fps(self, fps: int) -> None:
        """Thread-safe: pictures a second from the next one on (the bitrate stays)."""
        self.fps = max(1, int(fps))

    def request_keyframe(self) -> None:
        """Thread-safe: the next picture (or the first allowed one) is a keyframe."""
        self._keyframe_wanted = True

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._watching.set()  # wake the thread so it sees the stop
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self._watchers.clear()

    def _deliver(self, packets: list[av.Packet]) -> None:
        for watcher in list(self._watchers):
            for packet in packets:
                try:
                    watcher.offer(packet)
                except Exception:  # one guest's track must not stop the others'
                    log.exception("return video: a guest's track refused a packet")

    # -- in the encoder's thread ---------------------------------------------------

    def _run(self) -> None:
        origin = next_at = time.monotonic()
        while not self._stop.is_set():
            if not self._watching.is_set():
                self._watching.wait()
                next_at = time.monotonic()
                continue
            interval = 1.0 / self.fps
            now = time.monotonic()
            if now < next_at:
                self._stop.wait(next_at - now)
                continue
            behind = int((now - next_at) / interval)
            if behind:  # the picture could not be made in time: skip, do not catch up
                self.frames_skipped += behind
                next_at += behind * interval
            due, next_at = next_at, next_at + interval
            started = time.thread_time()
            try:
                # Timestamps follow the clock, also across a pause with nobody watching.
                packets = self._encode(round((due - origin) * 90_000))
            except Exception:  # the return goes black, the studio goes on
                log.exception("return video: encoding a picture failed")
                packets = []
            self.encode_seconds += time.thread_time() - started
            if packets and not self._stop.is_set():
                try:
                    self._loop.call_soon_threadsafe(self._deliver, packets)
                except RuntimeError:  # the loop is closed: the studio is stopping
                    return

    def _encode(self, pts: int) -> list[av.Packet]:
        frame = self._picture()
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        now = time.monotonic()
        if self._keyframe_wanted and now - self._last_keyframe >= KEYFRAME_MIN_INTERVAL:
            self._keyframe_wanted = False
            self._last_keyframe = now
            frame.pict_type = av.video.frame.PictureType.I
        if self._codec is None:
            self._codec = self._open(frame.width, frame.height)
        packets = list(self._codec.encode(frame))
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
            self.frames_encoded += 1
            if packet.is_keyframe:
                self.keyframes += 1
        return packets

    def _open(self, width: int, height: int) -> av.CodecContext:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height = width, height
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(self.fps, 1)
        codec.bit_rate = self.bitrate
        codec.gop_size = 10 * self.fps  # a keyframe every 10 s heals whoever missed one
        codec.qmin, codec.qmax = 4, 56
        codec.thread_count = 1
        codec.options = {
            "deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
            "error-resilient": "1", "static-thresh": "1",
            # constant bitrate: every guest's link gets the same stream
            "minrate": str(self.bitrate), "maxrate": str(self.bitrate), "bufsize": str(self.bitrate),
            "undershoot-pct": "100", "overshoot-pct": "15",
        }
        codec.open()
        self.encoders_opened += 1
        return codec


def encoder_status(video: SharedVideoEncoder | None) -> dict[str, Any]:
    """The shared encoder's counters for a status (zeros before it exists)."""
    return {
        "video_watchers": video.watchers if video else 0,
        "video_encoders_opened": video.encoders_opened if video else 0,
        "video_frames_encoded": video.frames_encoded if video else 0,
        "video_keyframes": video.keyframes if video else 0,
        "video_frames_skipped": video.frames_skipped if video else 0,
        "video_fps": video.fps if video else 0,
        "video_cpu_seconds": round(video.encode_seconds, 4) if video else 0.0,
    }
