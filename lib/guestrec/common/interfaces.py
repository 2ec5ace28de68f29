"""The seams between layers, as protocols, so each layer is built and tested on its own.

    WHIP over HTTP      --calls-->  SessionHost      (implemented by ingest.whip.WhipIngest)
    guest core/media    --feeds-->  GuestSink        (implemented by the OBS bridge, tests)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import av


class OfferRejected(Exception):
    """An SDP offer we will not answer; `status` is the HTTP status to send (4xx)."""

    def __init__(self, reason: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds after which the same offer may get in


@dataclass
class SessionAnswer:
    session_id: str  # opaque, URL-safe; the WHIP resource is /whip/session/<session_id>
    answer_sdp: str
    guest: str  # the display name actually used (after sanitizing)
    extra_headers: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # `Link` header values, one header each
    # Handed to the guest; an offer for the same name carrying it resumes the guest.
    resume_secret: str | None = None


class SessionHost(Protocol):
    """What the WHIP endpoint needs from the session layer. All methods run on the loop."""

    async def open_session(
        self, guest: str, offer_sdp: str, resume_secret: str | None = None,
        peer: str | None = None,
    ) -> SessionAnswer:
        """Answer an offer. Raises OfferRejected for offers we cannot or will not take.
        With the resume secret of a guest whose connection dropped, that guest comes
        back under its name; any other secret is ignored. `peer`: the address the offer came from."""
        ...

    async def close_session(self, session_id: str) -> bool:
        """End a session (the guest hung up). False when the id is unknown."""
        ...

    def guest_statuses(self) -> list[dict[str, Any]]:
        """JSON-ready status of every guest, for GET /api/guests."""
        ...

    def client_ice_servers(self, guest: str) -> list[dict[str, Any]]:
        """The ICE servers (W3C RTCIceServer JSON) for a guest's peer connection."""
        ...


class GuestSink(Protocol):
    """Receives one guest's decoded media, e.g. to show it in OBS.

    Called from the engine's loop thread; implementations must be quick and thread-safe.
    `timestamp_ns` is on the guest's shared audio/video timeline (sender clock through RTCP
    sender reports), so video and audio with equal timestamps belong together.
    """

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None: ...

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None: ...

    def on_connected(self) -> None: ...

    def on_disconnected(self) -> None: ...


def sink_wants(sink: object, kind: str) -> bool:
    """Whether a sink wants `kind` ("audio" | "video") decoded now. A sink may answer by a
    method `wants_decoded(kind)` (the return feed with nobody watching, the control room's
    pictures with nobody looking do not); one without it always does (an OBS source)."""
    wants = getattr(sink, "wants_decoded", None)
    return True if wants is None else bool(wants(kind))
