"""One recording made in the guest's browser, arriving in pieces while the guest records.

The page's MediaRecorder gives byte slices of one WebM or fragmented MP4 stream; they only make
sense appended in order. So the studio keeps a `.part` file and accepts a piece only at
the size it holds: a piece that starts later is refused with that size (the page sends
from there), one it already holds is acknowledged again after checking its bytes. Every
piece is on disk (fsync) before it is acknowledged, since the page deletes its own copy
then. When the page says it has stopped and the byte counts match, the `.part` is copied
(no re-encoding) into the final file (finalize.py: `.webm`/`.mkv`/`.mka`, or `.mp4`/`.m4a`
from Safari's fragmented MP4), placed on the studio's timeline and lip-synced. A guest who
never finishes leaves a file finalized as far as it got, marked so in its sidecar.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from pathlib import Path

from ..media.positioned_file import PositionedFile, create_empty
from ..media.sidecar import write_sidecar
from .alignment import guest_file_start_utc
from .finalize import final_extension, finalize
from .guest_plan import GuestRecording

log = logging.getLogger(__name__)

__all__ = ["FINAL_EXTENSIONS", "GuestUpload", "UploadRefused", "final_extension"]

STUDIO_EXTENSIONS = ("webm", "mkv", "mka")  # what the studio records a guest into
# What a finalized guest recording can be: Matroska/WebM, or MP4 from Safari.
FINAL_EXTENSIONS = (*STUDIO_EXTENSIONS, "mp4", "m4a")

# A piece larger than this is refused whatever the budget: the page sends ~1 s slices.
MAX_PIECE_BYTES = 8 * 1024 * 1024
# Encoders overshoot on keyframes and MediaRecorder adds container bytes; the budget is
# twice the asked bitrate over the time since start, plus room for the header and slack.
BUDGET_FACTOR = 2.0
BUDGET_SLACK_BYTES = 4 * 1024 * 1024
BUDGET_SLACK_SECONDS = 10.0


class UploadRefused(Exception):
    """A piece or request the studio will not take. `status` is the HTTP status to send."""

    def __init__(self, status: int, reason: str, size: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.size = size  # the size the studio holds, where that helps the page


@dataclass
class UploadTimes:
    """Times the page reports, in its own clock (ms since the epoch), and its clock offset."""

    recorder_started_ms: float | None = None
    page_minus_studio_ms: float | None = None  # from the control channel's clock exchange


@dataclass
class GuestUpload:
    guest: str
    recording: GuestRecording
    part: Path  # <stem>.guest.part
    upload_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    started: float = field(default_factory=time.time)
    size: int = 0
    state: str = "receiving"  # receiving | finalizing | complete | incomplete | failed | empty
    mime_type: str | None = None
    error: str | None = None
    final: Path | None = None
    reason: str | None = None  # why an incomplete file ended where it did
    last_activity: float = field(default_factory=time.monotonic)
    times: UploadTimes = field(default_factory=UploadTimes)
    extra: dict = field(default_factory=dict)  # e.g. alignment, written into the sidecar
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # Told once the recording is closed (finalized, failed or empty), e.g. so that its
    # session folder stays open until then.
    on_closed: Callable[[GuestUpload], None] | None = field(default=None, repr=False)
    fresh: InitVar[bool] = True

    def __post_init__(self, fresh: bool) -> None:
        # Only a hash of the key goes to disk (the sidecar), enough to check it after a restart.
        self.key_hash = key_hash(self.key) if self.key else ""
        if fresh:
            # Created empty now, so a stem taken by this recording is visibly taken.
            create_empty(self.part)
            write_sidecar(self.part, self.summary())

    @classmethod
    def recover(cls, part: Path) -> GuestUpload | None:
        """An unfinished upload left by a studio that stopped or crashed, to carry on with.

        Every byte in the `.part` was written before it was acknowledged, so its size is
        where the page resumes; bytes written but never acknowledged the page sends again
        and they are checked as repeats."""
        try:
            side = json.loads(part.with_suffix(".json").read_text(encoding="utf-8"))
            asked = side["asked"]
            recording = GuestRecording(
                video=bool(asked["video"]), mime_types=tuple(asked["mimeTypes"]),
                video_bps=asked["videoBitsPerSecond"], audio_bps=asked["audioBitsPerSecond"],
                pcm=bool(asked["pcm"]),
            )
            upload = cls(guest=side["guest"], recording=recording, part=part,
                         upload_id=side["upload_id"], key="", started=float(side["started"]),
                         size=part.stat().st_size, mime_type=side.get("mime_type"), fresh=False)
            upload.key_hash = side["key_sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot resume the guest upload %s: %s", part.name, exc)
            return None
        if side.get("state") != "receiving":
            return None
        upload.times = UploadTimes(**side.get("page_times") or {})
        return upload

    def key_matches(self, offered: str) -> bool:
        return bool(self.key_hash) and hmac.compare_digest(key_hash(offered), self.key_hash)

    @property
    def open(self) -> bool:
        return self.state == "receiving"

    def budget_bytes(self, now: float | None = None) -> int:
        """The most this recording can have produced by now at its asked bitrate."""
        elapsed = max(0.0, (now or time.time()) - self.started) + BUDGET_SLACK_SECONDS
        return int(self.recording.max_kbps * 1000 / 8 * elapsed * BUDGET_FACTOR) + BUDGET_SLACK_BYTES

    async def append(self, offset: int, data: bytes) -> int:
        """Take one piece at `offset`; returns the size held afterwards (the acknowledgement)."""
        async with self._lock:
            if not self.open:
                raise UploadRefused(410, f"this recording is {self.state}; nothing more is taken", self.size)
            if offset < 0:
                raise UploadRefused(400, "offset must be 0 or more", self.size)
            if offset > self.size:
                raise UploadRefused(409, f"gap: the studio holds {self.size} bytes, not {offset}", self.size)
            if len(data) > MAX_PIECE_BYTES:
                raise UploadRefused(413, f"a piece may be at most {MAX_PIECE_BYTES} bytes", self.size)
            end = offset + len(data)
            if end > self.budget_bytes():
                raise UploadRefused(
                    413, f"{end} bytes is more than {self.recording.max_kbps} kbps allows so far", self.size
                )
            self.last_activity = time.monotonic()
            held = self.size - offset  # bytes of this piece the studio already has
            if held > 0 and not await asyncio.to_thread(self._matches, offset, data[:held]):
                raise UploadRefused(409, "these bytes differ from the ones already received", self.size)
            if end <= self.size:
                return self.size  # a repeat whose acknowledgement was lost
            try:
                await asyncio.to_thread(self._write_at, self.size, data[held:])
            except OSError as exc:
                await asyncio.to_thread(self._truncate, self.size)
                if exc.errno == errno.ENOSPC:
                    self.error = "the studio's disk is full"
                    raise UploadRefused(
                        507, "the studio's disk is full; the piece was not kept", self.size) from None
                self.error = f"cannot write: {exc.strerror or exc}"
                raise UploadRefused(
                    500, f"the studio cannot write this file: {exc.strerror or exc}", self.size) from None
            self.size = end
            self.error = None
            return self.size

    def _matches(self, offset: int, data: bytes) -> bool:
        with open(self.part, "rb") as f:
            f.seek(offset)
            return f.read(len(data)) == data

    def _write_at(self, offset: int, data: bytes) -> None:
        # Opened per piece: Windows cannot rename or delete a file that stays open.
        with PositionedFile(self.part) as f:
            f.write_at(offset, data)
            f.sync()  # on disk before the page is told it may forget these bytes

    def _truncate(self, size: int) -> None:
        try:
            os.truncate(self.part, size)
        except OSError:
            log.exception("could not cut %s back to %d bytes", self.part.name, size)

    async def finish(self, total: int, reason: str | None = None) -> Path | None:
        """The page stopped with `total` bytes recorded: finalize once they are all here."""
        async with self._lock:
            if self.state in ("complete", "incomplete", "empty") and total == self.size:
                return self.final  # a repeated finish
            if not self.open:
                raise UploadRefused(410, f"this recording is {self.state}", self.size)
            if total != self.size:
                raise UploadRefused(409, f"the studio holds {self.size} bytes, not {total}", self.size)
            return await self._finalize("complete" if reason is None else "incomplete", reason)

    async def abandon(self, reason: str) -> Path | None:
        """Finalize as far as it got (the guest vanished, the studio shuts down)."""
        async with self._lock:
            if not self.open:
                return self.final
            return await self._finalize("incomplete", reason)

    async def _finalize(self, outcome: str, reason: str | None) -> Path | None:
        try:
            return await self._close(outcome, reason)
        finally:
            if self.on_closed is not None:
                try:
                    self.on_closed(self)
                except Exception:
                    log.exception("after closing %s", self.part.name)

    async def _close(self, outcome: str, reason: str | None) -> Path | None:
        if self.size == 0:
            # Nothing arrived: no file to keep and no media lost, so no sidecar either.
            self.state, self.reason = "empty", reason
            self.part.unlink(missing_ok=True)
            self.part.with_suffix(".json").unlink(missing_ok=True)
            return None
        self.state = "finalizing"
        self.reason = reason
        try:
            self.final = await asyncio.to_thread(self._remux)
            self.state = outcome
        except Exception as exc:  # noqa: BLE001 - a broken upload must not break the studio
            log.warning("guest recording %s could not be finalized: %s", self.part.name, exc)
            self.state = "failed"
            self.error = f"could not be finalized: {exc}; the received bytes stay in {self.part.name}"
        # <stem>.guest.part and <stem>.guest.webm share the sidecar <stem>.guest.json.
        write_sidecar(self.final or self.part, self.summary(), final=True)
        return self.final

    def _remux(self) -> Path | None:
        self.extra["sha256"] = file_sha256(self.part)  # of the bytes as the browser made them
        studio = self.studio_file()
        done = finalize(self.part, studio, self.times.recorder_started_ms, self.times.page_minus_studio_ms)
        self.part.unlink()
        self.extra.update(packets=done.packets, codecs=done.codecs, container=done.container,
                          studio_offset=done.studio_offset, av_shift_ms=done.av_shift)
        self.extra["media_start_utc"] = guest_file_start_utc(studio, done.studio_offset)
        return done.file

    def studio_file(self) -> Path | None:
        """The studio's own recording of this guest: same stem, beside it."""
        stem = self.part.name.rsplit(".guest", 1)[0]
        for ext in STUDIO_EXTENSIONS:
            candidate = self.part.with_name(f"{stem}.{ext}")
            if candidate.exists():
                return candidate
        return None

    def summary(self) -> dict:
        return {
            "guest": self.guest,
            "recorded_at": "guest",
            "upload_id": self.upload_id,
            "key_sha256": self.key_hash,
            "state": self.state,
            "complete": self.state == "complete",
            "reason": self.reason,
            "error": self.error,
            "file": (self.final or self.part).name,
            "started": self.started,
            "bytes_received": self.size,
            "mime_type": self.mime_type,
            "asked": self.recording.as_message(),
            "page_times": vars(self.times),
            **self.extra,
        }

    def status(self) -> dict:
        return {
            "state": self.state, "bytes": self.size, "file": str(self.final or self.part),
            "mime_type": self.mime_type, "error": self.error, "reason": self.reason,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
