"""Plain-text status lines and hand-over timing statistics (pure; no libobs)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Mapping


def format_duration(seconds: float | None) -> str:
    total = int(max(0.0, seconds or 0.0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


def format_bytes(count: int | None) -> str:
    value = float(count or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def guest_status_text(status: Mapping[str, Any] | None) -> str:
    """One line for a guest, e.g. "connected, recording 0:01:23, 12.4 MB"."""
    if not status:
        return "not connected"
    parts = ["connected" if status.get("connected") else "not connected"]
    if status.get("connected") and status.get("ice_pair"):
        parts[0] += f" ({status['ice_pair']})"  # direct / via STUN / via TURN relay
    if status.get("recording"):
        parts.append(f"recording {format_duration(status.get('recording_seconds'))}")
        parts.append(format_bytes(status.get("file_bytes")))
    elif status.get("file"):
        parts.append(f"last file {format_bytes(status.get('file_bytes'))}")
    if status.get("error"):
        parts.append(f"error: {status['error']}")
    return ", ".join(parts)


def guest_status_detail(status: Mapping[str, Any] | None) -> str:
    """The status line plus the file being written, for a guest's own properties."""
    text = guest_status_text(status)
    if status and status.get("file"):
        text += f"\nFile: {status['file']}"
    return text


class HandoverStats:
    """Delays from a frame reaching the bridge to OBS having taken it, in nanoseconds.

    Keeps the most recent `keep` samples; thread-safe (written on the engine's loop thread,
    read from anywhere).
    """

    def __init__(self, keep: int = 20000) -> None:
        self._samples: deque[int] = deque(maxlen=keep)
        self._count = 0
        self._lock = threading.Lock()

    def record(self, delay_ns: int) -> None:
        with self._lock:
            self._samples.append(delay_ns)
            self._count += 1

    def summary(self) -> dict[str, float | int]:
        with self._lock:
            samples = sorted(self._samples)
            count = self._count
        if not samples:
            return {"frames": count, "median_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}

        def pick(q: float) -> float:
            index = min(len(samples) - 1, max(0, round(q * (len(samples) - 1))))
            return samples[index] / 1e6

        return {
            "frames": count,
            "median_ms": round(pick(0.5), 4),
            "p95_ms": round(pick(0.95), 4),
            "max_ms": round(samples[-1] / 1e6, 4),
        }
