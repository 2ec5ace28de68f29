"""What the studio shows of each guest (OBS's status, the HTTP API): read only, built
afresh from the guests, their media and connections, and their recordings."""

from __future__ import annotations

from typing import Any

from ..webrtc.ice_status import selected_pair
from .guest import Guest
from .guest_table import GuestTable
from .recording_control import RecordingControl


class StatusView:
    def __init__(self, guests: GuestTable, recordings: RecordingControl) -> None:
        self._guests = guests
        self._recordings = recordings

    def statuses(self) -> list[dict[str, Any]]:
        """One dict a guest, in the order they came."""
        return [self._status(g) for g in self._guests.in_order()]

    def _status(self, guest: Guest) -> dict[str, Any]:
        rec = (guest.media.recording_status() if guest.media is not None else None) or {}
        path = rec.get("path")
        plan = guest.config.plan
        pair = selected_pair(guest.pc) if guest.pc.connectionState == "connected" else None
        folder = self._recordings.open_session_folder()
        return {
            "name": guest.name,
            "client": guest.client,
            "connected": guest.pc.connectionState == "connected",
            "connection_state": guest.pc.connectionState,
            "media": list(guest.kinds),
            "recording": bool(rec.get("recording")),
            "recording_seconds": float(rec.get("seconds") or 0.0),
            "file": str(path) if path else None,
            "file_bytes": int(rec.get("bytes") or 0),
            "recording_lag_seconds": float(rec.get("lag_seconds") or 0.0),
            "warning": rec.get("warning"),
            "error": guest.error or rec.get("error") or (
                f"guest media refused: {rec['refused']}" if rec.get("refused") else None),
            "mode": plan.mode,
            "video_kbps": plan.video_kbps,
            "inbound_audio_kbps": plan.inbound_audio_kbps,
            "since": guest.created,
            **self._recordings.browser_status(guest),  # the recording in the guest's browser
            "session_folder": str(folder) if folder else None,
            "page": dict(guest.page_state),
            **_live(guest),
            # direct / via STUN / via TURN relay, and the two ends, once ICE picked a pair
            "ice_pair": pair["kind"] if pair else None,
            "ice_pair_detail": f"studio {pair['local']}, guest {pair['remote']}" if pair else None,
            "ice_offered": dict(guest.ice_offered),
            # A screen share names the guest who shares it.
            "screen_of": guest.screen_of.name if guest.screen_of is not None else None,
            **_continuity(guest),
            **guest.extra_status,
        }


def _continuity(guest: Guest) -> dict[str, Any]:
    """Connections so far (more than 1 after reconnecting) and the take recorded."""
    continuity = guest.continuity
    take = continuity.take if continuity is not None else None
    return {
        "connections": continuity.parts if continuity is not None else 1,
        "take": {"id": take.take_id, "part": take.part} if take is not None and take.part else None,
    }


def _live(guest: Guest) -> dict[str, Any]:
    """Reception figures for status displays."""
    figures: dict[str, Any] = guest.live.figures() if guest.live is not None else {}
    size = guest.media.video_size if guest.media is not None else None
    return {
        "kbps": figures.get("kbps"), "fps": figures.get("fps"),
        "loss_percent": figures.get("loss_percent"),
        "resolution": f"{size[0]}x{size[1]}" if size else None,
        # Frames decoded so far (for OBS, the return or the control room's picture; a
        # copy recording with nobody watching decodes none).
        "decoded_frames": dict(guest.media.decoded_frames) if guest.media is not None else None,
    }
