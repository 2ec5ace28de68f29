"""What the studio shows of each guest: the roster's status methods.

GuestRoster inherits them; they read its guests, their media and their connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..webrtc.ice_status import selected_pair
from .guest import Guest
from .guest_side import GuestSideRecordings
from .session_folder import SessionFolders


class RosterStatus:
    """Mixed into GuestRoster."""

    if TYPE_CHECKING:
        _guests: dict[str, Guest]
        sessions: SessionFolders
        guest_side: GuestSideRecordings

    def guest_statuses(self) -> list[dict[str, Any]]:
        return [self._status(g) for g in sorted(self._guests.values(), key=lambda g: g.created)]

    def _select(self, guest: str | None) -> list[Guest]:
        guests = list(self._guests.values())
        return guests if guest is None else [g for g in guests if g.name == guest]

    def _status(self, entry: Guest) -> dict[str, Any]:
        rec = (entry.media.recording_status() if entry.media is not None else None) or {}
        path = rec.get("path")
        plan = entry.config.plan
        pair = selected_pair(entry.pc) if entry.pc.connectionState == "connected" else None
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
            "recording_lag_seconds": float(rec.get("lag_seconds") or 0.0),
            "warning": rec.get("warning"),
            "error": entry.error or rec.get("error") or (
                f"guest media refused: {rec['refused']}" if rec.get("refused") else None),
            "mode": plan.mode,
            "video_kbps": plan.video_kbps,
            "inbound_audio_kbps": plan.inbound_audio_kbps,
            "since": entry.created,
            **self.guest_side.status(entry),  # the recording in the guest's browser
            "session_folder": str(self.sessions.current) if self.sessions.current else None,
            "page": dict(entry.page_state),
            **self._live(entry),
            # direct / via STUN / via TURN relay, and the two ends, once ICE picked a pair
            "ice_pair": pair["kind"] if pair else None,
            "ice_pair_detail": f"studio {pair['local']}, guest {pair['remote']}" if pair else None,
            "ice_offered": dict(entry.ice_offered),
            **self._continuity_status(entry),
            **entry.extra_status,
        }

    @staticmethod
    def _continuity_status(entry: Guest) -> dict[str, Any]:
        """Connections so far (more than 1 after reconnecting) and the take recorded."""
        continuity = entry.continuity
        take = continuity.take if continuity is not None else None
        return {
            "connections": continuity.parts if continuity is not None else 1,
            "take": {"id": take.take_id, "part": take.part} if take is not None and take.part else None,
        }

    def _live(self, entry: Guest) -> dict[str, Any]:
        """Reception figures for status displays."""
        figures: dict[str, Any] = entry.live.figures() if entry.live is not None else {}
        size = entry.media.video_size if entry.media is not None else None
        return {
            "kbps": figures.get("kbps"), "fps": figures.get("fps"),
            "loss_percent": figures.get("loss_percent"),
            "resolution": f"{size[0]}x{size[1]}" if size else None,
        }
