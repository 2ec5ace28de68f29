"""Every guest-side recording the studio is receiving, looked up by id and checked by key.

Each recording has its own random id and key, handed only to the guest whose browser
records it, so one guest can never write into another's file. A recording whose guest
has left and that has not been added to for `grace_s` is finalized as far as it got: a
page reloaded by its guest comes back well within that and carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from .guest_plan import GuestRecording
from .guest_upload import FINAL_EXTENSIONS, GuestUpload, UploadRefused

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 120.0
FINISHED_KEPT = 64  # finished recordings still answered (a repeated finish, a late piece)


def guest_part_path(studio_stem: Path) -> Path:
    """`<stem>.guest.part` beside the studio's `<stem>.webm` of the same guest."""
    return studio_stem.with_name(studio_stem.name + ".guest.part")


class GuestUploads:
    def __init__(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self._uploads: dict[str, GuestUpload] = {}
        self._away: dict[str, float] = {}  # upload id -> monotonic time its guest left
        self._reaper: asyncio.Task | None = None
        # Told when a recording is created here and when it is closed (session folders).
        self.on_created: Callable[[GuestUpload], None] | None = None
        self.on_closed: Callable[[GuestUpload], None] | None = None

    def create(self, guest: str, recording: GuestRecording, studio_stem: Path) -> GuestUpload:
        # A second guest recording beside one studio file (the guest changed devices) gets
        # `<stem>.guest-2.part`, and so on.
        part = guest_part_path(studio_stem)
        for number in range(2, 1000):
            if not part.exists() and not part.with_suffix(".json").exists() and not any(
                    part.with_suffix("." + ext).exists() for ext in FINAL_EXTENSIONS):
                break
            part = studio_stem.with_name(f"{studio_stem.name}.guest-{number}.part")
        upload = GuestUpload(guest=guest, recording=recording, part=part)
        upload.on_closed = self._closed
        self._uploads[upload.upload_id] = upload
        self._forget_old()
        if self.on_created is not None:
            self.on_created(upload)
        return upload

    def _closed(self, upload: GuestUpload) -> None:
        if self.on_closed is not None:
            self.on_closed(upload)

    def get(self, upload_id: str) -> GuestUpload | None:
        return self._uploads.get(upload_id)

    def authorized(self, upload_id: str, key: str | None) -> GuestUpload:
        """The upload, if `key` is its own; UploadRefused(404/403) otherwise."""
        upload = self._uploads.get(upload_id)
        if upload is None:
            raise UploadRefused(404, "no such recording")
        if not key or not upload.key_matches(key):
            raise UploadRefused(403, "this key is not the one for this recording")
        return upload

    def recover(self, out_dir: Path) -> list[GuestUpload]:
        """Take back the unfinished uploads in `out_dir` (the studio restarted): their pages
        carry on where the files end; those that do not come back within the grace period
        are finalized as far as they got."""
        recovered = []
        out_dir = Path(out_dir)
        # Beside the studio's files: in the output folder or one of its session folders.
        parts = sorted([*out_dir.glob("*.guest.part"), *out_dir.glob("*/*.guest.part")])
        for part in parts:
            upload = GuestUpload.recover(part)
            if upload is not None and upload.upload_id not in self._uploads:
                upload.on_closed = self._closed
                self._uploads[upload.upload_id] = upload
                recovered.append(upload)
                log.info("resuming the guest upload %s at %d bytes", part.name, upload.size)
        for upload in recovered:
            self.guest_left(upload.guest)
        return recovered

    def uploads_of(self, guest: str) -> list[GuestUpload]:
        return [u for u in self._uploads.values() if u.guest == guest]

    def guest_left(self, guest: str) -> None:
        """Start the grace period of the guest's unfinished recordings."""
        now = time.monotonic()
        for upload in self.uploads_of(guest):
            if upload.open:
                self._away.setdefault(upload.upload_id, now)
        if self._away and (self._reaper is None or self._reaper.done()):
            self._reaper = asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        while self._away:
            await asyncio.sleep(min(1.0, self.grace_s / 4))
            now = time.monotonic()
            for upload_id, left in list(self._away.items()):
                upload = self._uploads.get(upload_id)
                if upload is None or not upload.open:
                    self._away.pop(upload_id, None)
                    continue
                idle_since = max(left, upload.last_activity)
                if now - idle_since >= self.grace_s:
                    self._away.pop(upload_id, None)
                    await upload.abandon(
                        f"the guest left and sent nothing for {self.grace_s:.0f} s; "
                        f"finalized with the {upload.size} bytes received"
                    )

    async def close_all(
            self, reason: str = "the studio shut down before the guest's upload finished") -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for upload in list(self._uploads.values()):
            if upload.open:
                await upload.abandon(reason)

    def _forget_old(self) -> None:
        done = [i for i, u in self._uploads.items() if not u.open and u.state != "finalizing"]
        for upload_id in done[: max(0, len(done) - FINISHED_KEPT)]:
            del self._uploads[upload_id]
