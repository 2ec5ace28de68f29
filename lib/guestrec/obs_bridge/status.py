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


def guest_state(status: Mapping[str, Any] | None) -> str:
    """One word for where a guest stands: "recording", "live" or "left"."""
    if not status or not status.get("connected"):
        return "left"
    return "recording" if status.get("recording") else "live"


def reception_text(status: Mapping[str, Any]) -> str:
    """E.g. "1280x720 at 30.0 fps, 2540 kbps, loss 0.1%, direct" (what is known of it)."""
    parts = []
    if status.get("resolution"):
        fps = status.get("fps")
        parts.append(f"{status['resolution']}" + (f" at {fps:.1f} fps" if fps is not None else ""))
    if status.get("kbps") is not None:
        parts.append(f"{status['kbps']:.0f} kbps")
    if status.get("loss_percent") is not None:
        parts.append(f"loss {status['loss_percent']:.1f}%")
    if status.get("ice_pair"):
        parts.append(str(status["ice_pair"]))  # direct / via STUN / via TURN relay
    return ", ".join(parts)


def guest_status_text(status: Mapping[str, Any] | None) -> str:
    """One line for a guest, e.g. "recording 0:01:23, 12.4 MB; 1280x720 at 30.0 fps, ..."."""
    state = guest_state(status)
    if status is None or state == "left":
        text = "left"
        if status and status.get("file"):
            text += f", last file {format_bytes(status.get('file_bytes'))}"
    elif state == "recording":
        text = (f"recording {format_duration(status.get('recording_seconds'))}, "
                f"{format_bytes(status.get('file_bytes'))}")
    else:
        text = "live, not recording"
    if status and state != "left":
        reception = reception_text(status)
        if reception:
            text += f"; {reception}"
    if status and status.get("error"):
        text += f"; error: {status['error']}"
    return text


def guest_status_detail(status: Mapping[str, Any] | None) -> str:
    """Several lines for a guest's own properties."""
    state = guest_state(status)
    lines = [{"recording": "RECORDING", "live": "Live, not recording",
              "left": "Not connected"}[state]]
    if status and state == "recording":
        lines.append(f"Time {format_duration(status.get('recording_seconds'))}, "
                     f"{format_bytes(status.get('file_bytes'))} written")
    if status and state != "left":
        reception = reception_text(status)
        if reception:
            lines.append(f"Receiving {reception}")
        page = status.get("page") or {}
        said = [w for k, w in (("muted", "microphone muted"), ("camera_off", "camera off")) if page.get(k)]
        if said:
            lines.append("The guest has their " + " and ".join(said))
    if status and status.get("file"):
        lines.append(f"File: {status['file']}")
    if status and status.get("error"):
        lines.append(f"Error: {status['error']}")
    return "\n".join(lines)


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
