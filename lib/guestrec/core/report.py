"""What the core says about a guest: to the studio (its status) and to the guest itself
(over its control channel, whatever the ingest: recording state, errors, the end)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..ice_status import ICE_HINT, describe_types, selected_pair
from .guest import Guest

log = logging.getLogger(__name__)

TELL_ENDED_TIMEOUT_S = 2.0  # the end goes on even if the guest's channel is stuck


def call_quietly(what: str, fn: Callable[[], Any]) -> None:
    """Call a sink or listener; their failures must not break a guest."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - a third party's bug is logged, not spread
        log.exception("%s failed", what)


def recording_status(entry: Guest) -> dict[str, Any] | None:
    return entry.media.recording_status() if entry.media is not None else None


def is_recording(entry: Guest) -> bool:
    status = recording_status(entry)
    return bool(status and status.get("recording"))


def failure_reason(entry: Guest) -> str:
    ice_ok = dtls_failed = False
    for transceiver in entry.pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls is None:
            continue
        dtls_failed = dtls_failed or dtls.state == "failed"
        ice_ok = ice_ok or dtls.transport.state in ("completed", "connected")
    if dtls_failed and ice_ok:
        return entry.dtls_failure_hint or "DTLS handshake failed"
    return ice_failure(entry, "the media connection failed (ICE)")


def ice_failure(entry: Guest, what: str) -> str:
    """What failed, the candidate types both sides offered, and where to look."""
    offered = entry.ice_offered
    if not offered:
        return what
    return (f"{what}; the guest offered {describe_types(offered.get('guest', []))} "
            f"candidates, the studio {describe_types(offered.get('studio', []))}: {ICE_HINT}")


def live_figures(entry: Guest) -> dict[str, Any]:
    """Reception figures for status displays."""
    figures: dict[str, Any] = entry.live.figures() if entry.live is not None else {}
    size = entry.media.video_size if entry.media is not None else None
    return {
        "kbps": figures.get("kbps"), "fps": figures.get("fps"),
        "loss_percent": figures.get("loss_percent"),
        "resolution": f"{size[0]}x{size[1]}" if size else None,
    }


def status_of(entry: Guest, session_folder: Path | None = None) -> dict[str, Any]:
    """The guest as the studio sees it (GET /api/guests, the OBS source's status)."""
    rec = recording_status(entry) or {}
    path = rec.get("path")
    plan = entry.config.plan
    pair = selected_pair(entry.pc) if entry.pc.connectionState == "connected" else None
    continuity = entry.continuity
    take = continuity.take if continuity is not None else None
    return {
        "name": entry.name,
        "client": entry.client,
        "connected": entry.pc.connectionState == "connected",
        "connection_state": entry.pc.connectionState,
        "media": list(entry.kinds),
        "recording": bool(rec.get("recording")),
        "recording_seconds": float(rec.get("seconds") or 0.0),
        "file": str(path) if path else None,
        "file_bytes": int(rec.get("bytes") or 0),
        "error": entry.error or rec.get("error"),
        "mode": plan.mode,
        "video_kbps": plan.video_kbps,
        "inbound_audio_kbps": plan.inbound_audio_kbps,
        "since": entry.created,
        "session_folder": str(session_folder) if session_folder else None,
        "page": dict(entry.page_state),
        **live_figures(entry),
        # direct / via STUN / via TURN relay, and the two ends, once ICE picked a pair
        "ice_pair": pair["kind"] if pair else None,
        "ice_pair_detail": f"studio {pair['local']}, guest {pair['remote']}" if pair else None,
        "ice_offered": dict(entry.ice_offered),
        # connections so far (more than 1 after reconnecting), and the take recorded
        "connections": continuity.parts if continuity is not None else 1,
        "take": {"id": take.take_id, "part": take.part} if take is not None and take.part else None,
        **entry.extra_status,
    }


def send_status(entry: Guest, force: bool = False) -> None:
    """Tell the guest whether it is recorded (and a recording failure, once)."""
    if entry.control is None:
        return
    status = recording_status(entry)
    recording = bool(status and status.get("recording"))
    path = status.get("path") if status else None
    entry.control.send_status(
        {"recording": recording, "file": Path(path).name if (recording and path) else None,
         "guest": entry.name},
        force=force,
    )
    error = (status or {}).get("error")
    if error and error != entry.last_error_sent:
        entry.last_error_sent = error
        send_error(entry, f"recording failed: {error}")


def send_error(entry: Guest, text: str) -> None:
    if entry.control is not None:
        call_quietly("sending an error to the guest", lambda: entry.control.send_error(text))


async def tell_ended(entry: Guest, text: str) -> None:
    """Tell the guest the studio ended its session, before its connection closes."""
    if entry.control is None:
        return
    try:
        await asyncio.wait_for(entry.control.end(text), TELL_ENDED_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - the guest is ended all the same
        log.debug("telling %r the session ended failed", entry.name, exc_info=True)
