"""One guest as the core sees it, the settings it joined with, and how to talk to it."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaBlackhole

from ..common.interfaces import GuestSink
from ..common.plan import RecordPlan
from ..media.limits import DEFAULT_LIMITS, MediaLimits
from ..webrtc.ice import IceSettings
from .continuity import Continuity


@dataclass
class GuestConfig:
    """Settings read for every new guest, so changes apply to the next one."""

    plan: RecordPlan
    out_dir: Path
    auto_record: bool = True  # start recording as soon as the guest's media flows
    split_minutes: float | None = None
    record_at: str | None = None  # "studio" | "guest" | "both"; None: both in video modes
    media_limits: MediaLimits = DEFAULT_LIMITS  # picture sizes and rates a guest may send
    # STUN/TURN for the guest's peer connection; none unless the studio sets them.
    ice: IceSettings = field(default_factory=lambda: IceSettings(()))


class ControlRefused(Exception):
    """A request this guest's software cannot take at all; the message says why."""


class GuestControl(Protocol):
    """The channel to the guest's own software (our page, a VDO.Ninja app...). Each ingest
    speaks its own wire format; the core only says what to tell the guest."""

    def send_status(self, status: dict[str, Any], force: bool = False) -> None:
        """The guest's recording state: {"recording": bool, "file": name|None, "guest": name}."""
        ...

    def send_error(self, text: str) -> None: ...

    def send(self, message: dict[str, Any]) -> bool:
        """Any other message (e.g. the wanted guest-side recording); False if not sent."""
        ...

    def send_control(self, message: dict[str, Any]) -> bool:
        """A director's request to the guest: {"type": "mute", "mute": bool},
        {"type": "message", "text": str}, {"type": "bitrate", "kbps": int},
        {"type": "hangup"}. False when it could not be sent (now); raises ControlRefused
        when the guest's software never takes that request."""
        ...

    async def end(self, text: str) -> None:
        """The studio ended the session: tell the guest (so it does not try to come back)
        before its connection closes. Must return within about a second."""
        ...

    def bind(
        self, on_open: Callable[[], None], on_message: Callable[[dict[str, Any]], None]
    ) -> None:
        """Called once by the core: `on_open` when the channel opens (status is resent),
        `on_message` for each message from the guest."""
        ...


@dataclass
class Guest:
    name: str
    pc: RTCPeerConnection
    config: GuestConfig
    client: str  # who is sending: "webrtc", "ffmpeg", "vdoninja"...
    control: GuestControl | None = None
    dtls_failure_hint: str | None = None  # what to tell when DTLS fails after ICE worked
    peer: str | None = None  # the address its offer came from (admission budgets)
    guest_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    created: float = field(default_factory=time.time)
    media: Any = None  # media.GuestMedia once a track arrived
    sink: GuestSink | None = None  # the guest's LastingSink, shared by its connections
    continuity: Continuity | None = None  # name, resume secret, sink, take: kept across drops
    resumed: bool = False  # this connection reclaimed a dropped guest's name
    blackhole: MediaBlackhole | None = None
    kinds: list[str] = field(default_factory=list)
    connected_once: bool = False
    finishing: asyncio.Task | None = None
    extra_status: dict[str, Any] = field(default_factory=dict)  # set by ingests, shown as is
    live: Any = None  # live_stats.LiveStats once media arrived
    page_state: dict[str, bool] = field(default_factory=dict)  # what the guest's page reports
    # A screen share: the guest who shares it (its continuity, kept across reconnections).
    screen_of: Continuity | None = None
    # Candidate types each side offered, e.g. {"guest": ["host", "srflx"], "studio": ["host"]},
    # set by the ingest from the two descriptions; named when ICE fails.
    ice_offered: dict[str, list[str]] = field(default_factory=dict)
    # What went wrong with this guest, as the studio shows it and the guest is told; set
    # only through `fail` and `recovered`.
    _error: str | None = field(default=None, init=False, repr=False)

    @property
    def ended(self) -> bool:
        return self.finishing is not None

    @property
    def error(self) -> str | None:
        return self._error

    def fail(self, text: str, *, unless_failed: bool = False) -> None:
        """Note what went wrong. unless_failed: an earlier failure stays, as the first
        cause explains the later ones (a connection that fails after its media broke)."""
        if unless_failed and self._error:
            return
        self._error = text

    def recovered(self) -> None:
        """Its recording started afresh: the earlier failure is over."""
        self._error = None
