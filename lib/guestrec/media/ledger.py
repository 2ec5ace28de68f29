"""Where every received frame of a recording went: into the file, or dropped and why.

Frames are named by their unwrapped RTP timestamp. The recording of a stream begins at
its first written frame (a copy begins at a key frame, a late camera joins later), so a
frame counts as received when it arrived between that first written frame and the stop.
Every place that discards a frame records it with a reason; what was received but is
neither written nor recorded as dropped never came out of the decoder (damaged frames
skipped until the next key frame, decode errors, or frames still in the decoder when the
recording had to end), and is reported as such. The counts therefore always add up:

    received == written + sum(dropped.values())

A recording is `complete` only when nothing was dropped.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter

NOT_DECODED = "not delivered by the decoder (damaged frames until a key frame, decode errors)"
REASONS = {
    "queue_full": "the recording fell too far behind (the machine could not keep up)",
    "held_overflow": "held too long waiting for the first sender reports",
    "stop_backlog": "still waiting to be written when the stop's time bound ran out",
    "damaged": "damaged in transit (lost packets), skipped until the next key frame",
    "write_failed": "the file could not be written",
    "after_drop": "skipped until the next key frame after a dropped frame (copied video)",
    "overlap": "overlapped audio already written (the guest's timestamps went back)",
}


class StreamLedger:
    """One kind's arrivals, writes and drops. Arrivals and drops come from the loop, writes
    from the writer thread; a lock keeps the summary consistent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrivals = array("q")  # unwrapped RTP timestamps, in arrival order
        self.drops: list[tuple[int, str]] = []
        self.first_written: int | None = None
        self.last_written: int | None = None
        self.written = 0
        self.stop_at: int | None = None
        # What a frame that arrived but was never written is put down to.
        self.residual_reason = "not_decoded"

    def arrived(self, rtp: int) -> None:
        with self._lock:
            if self.stop_at is None:
                self.arrivals.append(rtp)

    def dropped(self, rtp: int, reason: str) -> None:
        with self._lock:
            self.drops.append((rtp, reason))

    def wrote(self, rtp: int | None) -> None:
        with self._lock:
            self.written += 1
            if rtp is not None:
                if self.first_written is None or rtp < self.first_written:
                    self.first_written = rtp
                if self.last_written is None or rtp > self.last_written:
                    self.last_written = rtp

    def stop(self) -> None:
        """No arrival after this point belongs to the recording."""
        with self._lock:
            if self.stop_at is None:
                self.stop_at = max(self.arrivals) if self.arrivals else -1

    def summary(self, final: bool = True) -> dict:
        """Counts up to the stop (final) or up to the newest written frame (a split file
        closing while the recording goes on, its later frames still on their way)."""
        with self._lock:
            start = self.first_written
            end = self.stop_at if final and self.stop_at is not None else self.last_written
            if not final and end is None:
                end = -1
            in_window = (lambda rtp: True) if start is None and final else (
                lambda rtp: (start is None or rtp >= start) and (end is None or rtp <= end))
            received = sum(1 for rtp in self.arrivals if in_window(rtp))
            drops = Counter(reason for rtp, reason in self.drops if in_window(rtp))
            missing = received - self.written - sum(drops.values())
            if missing > 0:
                drops[self.residual_reason] += missing
            dropped = {reason: count for reason, count in drops.items() if count}
            return {"received": self.written + sum(dropped.values()), "written": self.written,
                    "dropped": dropped}


def explain(dropped: dict[str, int]) -> list[str]:
    """Sentences for the sidecar: what was dropped and why."""
    lines = []
    for reason, count in dropped.items():
        text = NOT_DECODED if reason == "not_decoded" else REASONS.get(reason, reason)
        lines.append(f"{count} frame(s) dropped: {text}")
    return lines
