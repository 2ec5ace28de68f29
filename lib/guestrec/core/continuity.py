"""What a guest whose connection dropped gets back when it returns: its name, its sink
(in OBS: its source) and its recording, continued as the next part of the same take.

A guest is given a random resume secret when it first joins. When its connection is
lost (not when it or the studio hangs up), the studio keeps the guest's name reserved for
`RESUME_GRACE_S`, for that secret only, and with it the sink and the take. An offer for
the name carrying the secret reclaims all three; any other offer for the name gets a
numbered name as usual. A reservation nobody claims in time ends: the sink is told the
guest disconnected and the take is over.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av

from ..common.interfaces import GuestSink, sink_wants

log = logging.getLogger(__name__)

RESUME_GRACE_S = 60.0  # how long a departed guest's name waits for its resume secret


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_matches(offered: str | None, secret: str) -> bool:
    if not offered:
        return False
    # Constant time, so a secret cannot be guessed byte by byte from response times.
    return hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8"))


@dataclass
class Take:
    """One continuous recording of a guest, possibly in several parts (one per connection)."""

    take_id: str = field(default_factory=lambda: secrets.token_hex(8))
    part: int = 0  # the part being recorded (1-based once started)
    last_file: Path | None = None  # the newest file of the take so far
    link_from: Path | None = None  # a finished part's last file awaiting its next_file

    def next_part(self) -> dict:
        """Open the next part; the writer puts this into every sidecar of the part."""
        self.part += 1
        self.link_from = self.last_file
        return {"id": self.take_id, "part": self.part,
                "previous_file": self.last_file.name if self.last_file else None}

    def part_ended(self, status: dict | None) -> None:
        """Note the part's last file (from its recording status) for the next part."""
        path = Path(status["path"]) if status and status.get("path") else None
        if path is not None and status.get("started_utc") and path.exists():
            self.last_file = path

    def link_to_new_part(self, status: dict | None) -> tuple[Path, str] | None:
        """(previous part's last file, the new part's first file) once the new part's
        recording has really started, once; the previous file's sidecar is to name it."""
        if self.link_from is None or not status or not status.get("started_utc"):
            return None
        previous, self.link_from = self.link_from, None
        return previous, Path(status["path"]).name


class LastingSink:
    """Stands between a guest's media and its real sink for as long as the guest lasts,
    across reconnections: frames pass through, but the real sink hears `on_connected`
    once and `on_disconnected` only when the guest is gone for good (`end`), so the OBS
    source is neither blanked nor recreated while the guest reconnects."""

    def __init__(self, real: GuestSink) -> None:
        self.real = real
        self._connected = False
        self._ended = False

    def wants_decoded(self, kind: str) -> bool:
        return not self._ended and sink_wants(self.real, kind)

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None:
        if not self._ended:
            self.real.on_video(frame, timestamp_ns)

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None:
        if not self._ended:
            self.real.on_audio(frame, timestamp_ns)

    def on_connected(self) -> None:
        if not self._connected and not self._ended:
            self._connected = True
            self.real.on_connected()

    def on_disconnected(self) -> None:
        """One connection's media ended; the guest may come back, so the real sink waits."""

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._connected:
            self.real.on_disconnected()


@dataclass
class Continuity:
    """What a guest keeps across its connections."""

    name: str
    secret: str = field(default_factory=new_secret)
    key: str = field(default_factory=lambda: secrets.token_hex(8))  # stable across connections
    sink: LastingSink | None = None
    take: Take | None = None  # the take recording continues into; None when not recording
    parts: int = 1  # connections so far

    def ensure_sink(self, factory: Callable[[str], GuestSink | None] | None) -> LastingSink | None:
        """The guest's sink, made once: a returning guest feeds the sink it had."""
        if self.sink is None and factory is not None:
            try:
                real = factory(self.name)
            except Exception:  # the guest goes on without a sink
                log.exception("making the sink for %r failed", self.name)
                real = None
            if real is not None:
                self.sink = LastingSink(real)
        return self.sink

    def connection_ended(self, recording_status: dict | None, went_on_record: bool) -> None:
        """One connection's part is over. went_on_record: it was being recorded (or never
        got far enough to be): the take goes on when the guest comes back."""
        if self.take is None:
            return
        self.take.part_ended(recording_status)
        if not went_on_record:
            self.take = None  # not recorded when it left: not recorded when back

    def end(self) -> None:
        if self.sink is not None:
            self.sink.end()


class ReservationBook:
    """Names of departed guests, each held for its resume secret for a grace period."""

    def __init__(self, on_ended: Callable[[Continuity], None] | None = None) -> None:
        self._on_ended = on_ended  # a reservation ended unclaimed (expired or dropped)
        self._held: dict[str, tuple[Continuity, asyncio.TimerHandle]] = {}  # by casefold name

    def hold(self, continuity: Continuity) -> None:
        key = continuity.name.casefold()
        self.drop(continuity.name)
        grace = RESUME_GRACE_S
        handle = asyncio.get_running_loop().call_later(grace, self._expire, key, continuity)
        self._held[key] = (continuity, handle)
        log.info("guest %r's name and source are kept %.0f s for its return", continuity.name, grace)

    def claim(self, name: str, offered_secret: str | None) -> Continuity | None:
        """The reservation for `name` if the secret is its own; it is then no longer held."""
        held = self._held.get(name.casefold())
        if held is None or not secret_matches(offered_secret, held[0].secret):
            return None
        del self._held[name.casefold()]
        held[1].cancel()
        return held[0]

    def holds(self, name: str) -> bool:
        return name.casefold() in self._held

    def names(self) -> list[str]:
        return [continuity.name for continuity, _ in self._held.values()]

    def held(self) -> list[Continuity]:
        return [continuity for continuity, _ in self._held.values()]

    def drop(self, name: str) -> Continuity | None:
        """End a reservation now (the guest left for good); returns it, already ended."""
        held = self._held.pop(name.casefold(), None)
        if held is None:
            return None
        held[1].cancel()
        self._end(held[0])
        return held[0]

    def drop_all(self) -> None:
        for name in [c.name for c, _ in self._held.values()]:
            self.drop(name)

    def _expire(self, key: str, continuity: Continuity) -> None:
        held = self._held.get(key)
        if held is None or held[0] is not continuity:
            return
        del self._held[key]
        log.info("guest %r did not come back in time; its take ended", continuity.name)
        self._end(continuity)

    def _end(self, continuity: Continuity) -> None:
        continuity.end()
        if self._on_ended is not None:
            self._on_ended(continuity)
