"""Plain-text status lines and hand-over timing statistics (pure; no libobs)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from ..core.continuity import RESUME_GRACE_S

RESUME_WAIT_TEXT = f"{RESUME_GRACE_S:.0f} s"


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
    """One word for where a guest stands: "recording", "live", "reconnecting" or "left"."""
    if status and status.get("returning"):
        return "reconnecting"
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
    elif state == "reconnecting":
        text = f"reconnecting (up to {RESUME_WAIT_TEXT}; its source and take wait for it)"
    elif state == "recording":
        text = (f"recording {format_duration(status.get('recording_seconds'))}, "
                f"{format_bytes(status.get('file_bytes'))}")
    else:
        text = "live, not recording"
    if status and state in ("recording", "live"):
        reception = reception_text(status)
        if reception:
            text += f"; {reception}"
    guest_side = guest_recording_text((status or {}).get("guest_recording"))
    if guest_side:
        text += f"; {guest_side}"
    if status and status.get("guest_recorder"):  # a VDO.Ninja guest's own recording (director)
        text += f"; own recording: {status['guest_recorder']}"
    if status and status.get("error"):
        text += f"; error: {status['error']}"
    return text


def guest_recording_text(rec: Mapping[str, Any] | None) -> str:
    """The recording in the guest's browser, e.g. "in the browser: recording, 42.0 MB, 98% uploaded"."""
    if not rec:
        return ""
    page = rec.get("page") or {}
    state = page.get("state") or ("asked" if rec.get("wanted") else rec.get("state"))
    if rec.get("state") not in ("receiving", None):
        state = rec["state"]  # complete, incomplete, failed: the studio's own word is final
    parts = [f"in the browser: {state}"]
    if rec.get("recorded_bytes"):
        parts.append(format_bytes(rec["recorded_bytes"]))
    if rec.get("uploaded_percent") is not None:
        parts.append(f"{rec['uploaded_percent']:.0f}% uploaded")
    return ", ".join(parts)


def room_status_text(status: Mapping[str, Any] | None) -> str:
    """One line for the VDO.Ninja room, e.g. "VDO.Ninja room Show: connected (relay), 2 guests"."""
    if not status:
        return ""
    state = {"open": "connected", "retrying": "reconnecting", "connecting": "connecting"}.get(
        str(status.get("handshake")), str(status.get("handshake")))
    text = f"VDO.Ninja room {status.get('room')}: {state} ({status.get('dialect')})"
    guests = status.get("guests") or []
    text += f", {len(guests)} guest{'s' if len(guests) != 1 else ''}"
    if status.get("director"):
        text += ", director"
    if status.get("handshake_error") and state != "connected":
        text += f"; {status['handshake_error']}"
    if status.get("errors"):
        text += f"; {status['errors'][-1]}"
    return text


def guest_status_detail(status: Mapping[str, Any] | None) -> str:
    """Several lines for a guest's own properties."""
    state = guest_state(status)
    lines = [{"recording": "RECORDING", "live": "Live, not recording",
              "reconnecting": f"Reconnecting: the connection dropped; the guest's source and "
                              f"recording wait up to {RESUME_WAIT_TEXT} for its return",
              "left": "Not connected"}[state]]
    if status and state == "recording":
        lines.append(f"Time {format_duration(status.get('recording_seconds'))}, "
                     f"{format_bytes(status.get('file_bytes'))} written")
    if status and state in ("recording", "live"):
        reception = reception_text(status)
        if reception:
            lines.append(f"Receiving {reception}")
        page = status.get("page") or {}
        said = [w for k, w in (("muted", "microphone muted"), ("camera_off", "camera off")) if page.get(k)]
        if said:
            lines.append("The guest has their " + " and ".join(said))
    if status and status.get("file"):
        lines.append(f"File: {status['file']}")
    guest_side = (status or {}).get("guest_recording")
    if guest_side:
        text = guest_recording_text(guest_side)
        lines.append(text[:1].upper() + text[1:])
        if guest_side.get("file"):
            lines.append(f"Guest's own file: {guest_side['file']}")
    if status and status.get("guest_recorder"):
        lines.append(f"Own recording on the guest's machine: {status['guest_recorder']}")
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


def watched_state(status: Mapping[str, Any] | None) -> tuple[bool, bool, str, str, bool]:
    """What of a guest's status the OBS side reacts to when it changes: connected,
    recording, its file, the guest-side recording, awaited back."""
    if status is None:
        return (False, False, "", "", False)
    return (bool(status.get("connected")), bool(status.get("recording")), str(status.get("file") or ""),
            str(status.get("guest_recorder") or ""), bool(status.get("returning")))
