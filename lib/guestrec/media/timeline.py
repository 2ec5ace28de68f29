"""One timeline for a guest's audio and video, from RTP timestamps and RTCP sender reports.

Audio (48 kHz) and video (90 kHz) RTP clocks start at random values and are unrelated.
A sender report pairs an RTP timestamp with the sender's NTP wall clock, so every stream
can be mapped onto the sender's clock: that mapping, not arrival times, keeps lips in sync
(network and jitter-buffer delays differ per stream).

Times on the timeline are seconds on the local `time.monotonic()` scale, so they also serve
as presentation times for a live view. Each stream's time is `rtp / rate + offset`:

- "sr" mode: offset = (sender NTP - rtp / rate) from the sender reports + D, where D is
  one constant per guest that moves the sender's clock onto the local one (fixed when the
  mode starts, so audio and video keep the relation the sender reports state).
- before reports arrive ("waiting", then "arrival" after HOLD_SECONDS): offset from
  arrival times, the least delayed frame of the stream.

The offset changes only through new reports (drift). Of the recent reports the earliest
mapping wins: a report can be late (a sender that stamps the report after a busy moment,
like aiortc, which pairs the last packet's RTP time with the time it was sent) but never
early, so the minimum is the least disturbed estimate. Timestamps of a stream advance
exactly with its RTP clock between reports.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

HOLD_SECONDS = 1.5  # how long recordings wait for the first sender reports
SR_HISTORY = 30  # recent reports per stream (about 30 s): drift still shows through
RATES = {"audio": 48_000, "video": 90_000}


def ntp_to_seconds(ntp: int) -> float:
    return (ntp >> 32) + (ntp & 0xFFFFFFFF) / 4294967296.0


class StreamClock:
    """RTP timestamps of one stream: unwrapping, arrival offset, sender-report offset."""

    def __init__(self, kind: str, rate: int) -> None:
        self.kind = kind
        self.rate = rate
        self._last_raw: int | None = None
        self._last: int = 0
        self.arrival_offset: float | None = None
        self._sr_offsets: deque[float] = deque(maxlen=SR_HISTORY)
        self.sr_count = 0
        self.frames = 0

    def _nearest(self, raw: int) -> int:
        """The unwrapped value of a 32-bit timestamp nearest to the last one seen."""
        if self._last_raw is None:
            return raw
        delta = (raw - self._last_raw) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return self._last + delta

    def unwrap(self, raw: int) -> int:
        value = self._nearest(raw)
        if self._last_raw is None or value > self._last:
            self._last_raw, self._last = raw, value
        return value

    def observe(self, raw: int, arrival: float) -> int:
        """A received frame: returns its unwrapped timestamp."""
        value = self.unwrap(raw)
        self.frames += 1
        offset = arrival - value / self.rate
        if self.arrival_offset is None or offset < self.arrival_offset:
            self.arrival_offset = offset
        return value

    def add_report(self, ntp_seconds: float, rtp_raw: int) -> None:
        if self._last_raw is None:
            self._last_raw, self._last = rtp_raw, rtp_raw
        value = self._nearest(rtp_raw)
        self._sr_offsets.append(ntp_seconds - value / self.rate)
        self.sr_count += 1

    @property
    def has_report(self) -> bool:
        return bool(self._sr_offsets)

    @property
    def has_media(self) -> bool:
        return self.arrival_offset is not None

    @property
    def sr_offset(self) -> float | None:
        if not self._sr_offsets:
            return None
        return min(self._sr_offsets)


class Timeline:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.streams: dict[str, StreamClock] = {}
        self.mode = "waiting"
        self.sender_to_local: float | None = None  # D
        self._first_media_at: float | None = None
        self.mode_changes = 0

    def add_stream(self, kind: str) -> StreamClock:
        if kind not in self.streams:
            self.streams[kind] = StreamClock(kind, RATES[kind])
        return self.streams[kind]

    def on_media(self, kind: str, raw: int, arrival: float) -> int:
        stream = self.add_stream(kind)
        value = stream.observe(raw, arrival)
        if self._first_media_at is None:
            self._first_media_at = arrival
        self._update()
        return value

    def on_report(self, kind: str, ntp: int, rtp: int) -> None:
        self.add_stream(kind).add_report(ntp_to_seconds(ntp), rtp)
        self._update()

    def ready(self) -> bool:
        """True once the timeline has decided how to relate the streams."""
        self._update()
        return self.mode != "waiting"

    def stop_waiting(self) -> None:
        """Decide now with what is known: a recording that ends before the first reports
        places its frames by arrival rather than lose them."""
        self._update()
        if self.mode == "waiting" and any(s.has_media for s in self.streams.values()):
            self.mode = "arrival"
            self.mode_changes += 1

    def _update(self) -> None:
        if self.mode == "sr":
            return
        with_media = [s for s in self.streams.values() if s.has_media]
        if not with_media:
            return
        all_attached_reported = all(s.has_report and s.has_media for s in self.streams.values())
        timed_out = self.clock() - (self._first_media_at or 0.0) >= HOLD_SECONDS
        if all_attached_reported or (
            (timed_out or self.mode == "arrival") and all(s.has_report for s in with_media)
        ):
            anchor = self.streams.get("video")
            if anchor is None or not anchor.has_media:
                anchor = with_media[0]
            # Keep the anchor stream where arrival times put it; the other one moves by
            # what the sender reports say.
            self.sender_to_local = anchor.arrival_offset - anchor.sr_offset  # type: ignore[operator]
            self.mode = "sr"
            self.mode_changes += 1
        elif timed_out and self.mode == "waiting":
            self.mode = "arrival"
            self.mode_changes += 1

    def offset(self, kind: str) -> float | None:
        stream = self.streams.get(kind)
        if stream is None:
            return None
        if self.mode == "sr" and stream.has_report:
            return stream.sr_offset + self.sender_to_local  # type: ignore[operator]
        return stream.arrival_offset

    def seconds(self, kind: str, unwrapped: int) -> float | None:
        """Time of a frame on the guest timeline; None before any media of that stream."""
        offset = self.offset(kind)
        if offset is None:
            return None
        return unwrapped / self.streams[kind].rate + offset

    def summary(self) -> dict:
        """Mode and, once reports came, how far they moved each stream from arrival timing.

        `audio_vs_video_ms` is the A/V skew the network and the guest's pipeline put in:
        how much later (positive) audio would have been placed than video by arrival times.
        """
        moved = {}
        if self.mode == "sr":
            for kind, stream in self.streams.items():
                if stream.has_report and stream.has_media:
                    sr = stream.sr_offset + self.sender_to_local  # type: ignore[operator]
                    moved[kind] = round((stream.arrival_offset - sr) * 1000, 1)  # type: ignore[operator]
        out = {
            "mode": self.mode,
            "sender_reports": {k: s.sr_count for k, s in self.streams.items()},
        }
        if "audio" in moved and "video" in moved:
            out["audio_vs_video_ms"] = round(moved["audio"] - moved["video"], 1)
        return out
