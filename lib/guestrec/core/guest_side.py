"""The recording made in the guest's own browser, as the core drives it.

The studio tells the page what it wants over the guest's control channel, and says it
again whenever the channel (re)opens, so the page only ever reapplies the wanted state:

    {"type": "guest-recording", "record": true, "id": ..., "url": "/upload/<id>",
     "key": ..., "mimeTypes": [...], "videoBitsPerSecond": ..., "audioBitsPerSecond": ...,
     "video": bool, "pcm": bool}
    {"type": "guest-recording", "record": false, "id": ...}

The page reports its recorder (`{"type": "guest-recorder", "id": ..., "state": ...,
"recordedBytes": ..., "pageTimeMs": ..., ...}`); the bytes themselves go over HTTP
(uploads/upload_routes.py), never the data channel.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ..common.names import local_stamp, safe_file_stem
from ..uploads.guest_plan import guest_recording
from ..uploads.guest_upload import GuestUpload
from ..uploads.guest_uploads import GuestUploads
from .guest import Guest, GuestConfig

log = logging.getLogger(__name__)

RECORD_AT = ("studio", "guest", "both")
MESSAGE_TYPE = "guest-recording"
REPORT_TYPE = "guest-recorder"
_REPORT_FIELDS = ("state", "mimeType", "recordedBytes", "uploadedBytes", "pendingBytes",
                  "error", "captureWidth", "captureHeight", "recorderStartedMs")


def record_at(config: GuestConfig) -> str:
    """Where this guest is recorded; unset means both in video modes, the studio otherwise."""
    chosen = getattr(config, "record_at", None)
    if chosen in RECORD_AT:
        return chosen
    return "both" if config.plan.video else "studio"


def browser_key(upload: GuestUpload) -> str:
    """A browser recording's key among its session's running recordings."""
    return f"browser {upload.upload_id}"


class GuestSideRecordings:
    """Each guest's current browser-side recording and what its page last reported."""

    def __init__(self, uploads: GuestUploads | None = None) -> None:
        self.uploads = uploads or GuestUploads()
        self._current: dict[str, GuestUpload] = {}  # guest_id -> the recording wanted now
        self._last: dict[str, GuestUpload] = {}  # guest_id -> the latest one, for status
        self._reports: dict[str, dict[str, Any]] = {}  # guest_id -> the page's last report
        # Asked for before the guest's page channel opened: (studio file, folder). A client
        # that never opens one (FFmpeg, OBS) so never gets an empty guest file.
        self._pending: dict[str, tuple[Path | None, Path]] = {}
        self._origin: dict[str, tuple[Path | None, Path]] = {}  # where the current one was asked
        # A guest whose connection dropped keeps its page (and its recorder) running: when it
        # is back, the studio asks for the same recording and the page simply carries on.
        self._resumable: dict[str, GuestUpload] = {}
        # Connections whose page has reported: only then does the studio know whether the
        # page already records (it kept recording while the studio restarted or the
        # connection dropped), and a new recording is asked for only if it does not.
        self._heard: set[str] = set()

    @staticmethod
    def _key(guest: Guest) -> str:
        """The same for a guest and its reconnections (they share a Continuity)."""
        continuity = getattr(guest, "continuity", None)
        return getattr(continuity, "secret", None) or guest.guest_id

    def wanted(self, guest: Guest) -> bool:
        return self._key(guest) in self._current or self._key(guest) in self._pending

    def start(self, guest: Guest, studio_file: Path | None, out_dir: Path) -> GuestUpload | None:
        """Ask the guest's page to record; the file sits beside the studio's own."""
        if self._key(guest) in self._current or guest.control is None:
            return self._current.get(self._key(guest))
        if not getattr(guest.control, "is_open", True) or guest.guest_id not in self._heard:
            self._pending[self._key(guest)] = (studio_file, out_dir)
            return None
        self._pending.pop(self._key(guest), None)
        self._origin[self._key(guest)] = (studio_file, out_dir)
        resumed = self._resumable.pop(self._key(guest), None)
        if resumed is not None and resumed.open:
            self._current[self._key(guest)] = self._last[self._key(guest)] = resumed
            log.info("guest %r is back: its browser's recording %s goes on", guest.name, resumed.part.name)
            self.send_wanted(guest)
            return resumed
        if studio_file is not None:
            stem = Path(studio_file).with_suffix("")
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            stem = out_dir.resolve() / f"{safe_file_stem(guest.name)} {local_stamp()}"
        upload = self.uploads.create(guest.name, guest_recording(guest.config.plan), stem)
        self._current[self._key(guest)] = self._last[self._key(guest)] = upload
        log.info("guest %r records in its browser to %s", guest.name, upload.part.name)
        self.send_wanted(guest)
        return upload

    def stop(self, guest: Guest) -> bool:
        was_pending = self._pending.pop(self._key(guest), None) is not None
        upload = self._current.pop(self._key(guest), None)
        if upload is not None:
            self.send_wanted(guest, stopped=upload)
        return upload is not None or was_pending

    def send_wanted(self, guest: Guest, stopped: GuestUpload | None = None) -> None:
        pending = self._pending.get(self._key(guest))
        if pending is not None and getattr(guest.control, "is_open", True):
            self.start(guest, *pending)  # the page's channel is open now: ask it
            return
        send = getattr(guest.control, "send", None)
        if send is None:
            return
        upload = self._current.get(self._key(guest))
        if upload is None:
            last = stopped or self._last.get(self._key(guest))
            send({"type": MESSAGE_TYPE, "record": False, "id": last.upload_id if last else None})
            return
        send({"type": MESSAGE_TYPE, "record": True, "id": upload.upload_id,
              "url": f"/upload/{upload.upload_id}", "key": upload.key,
              "guest": guest.name, **upload.recording.as_message()})

    def on_report(self, guest: Guest, message: dict[str, Any]) -> None:
        """The page's recorder state; also a sample of the page's clock against ours."""
        width, height = message.get("captureWidth"), message.get("captureHeight")
        if type(width) is int and type(height) is int and guest.media is not None:
            guest.media.set_capture_size(width, height)  # the studio file's size, see writer
        upload = self.uploads.get(str(message.get("id")))
        if upload is not None and upload.guest != guest.name:
            upload = None  # never another guest's
        self._first_report(guest, upload if message.get("state") == "recording" else None)
        if upload is None:
            return
        report = {k: message[k] for k in _REPORT_FIELDS if k in message}
        self._reports[self._key(guest)] = report
        page_ms = message.get("pageTimeMs")
        if isinstance(page_ms, (int, float)) and not isinstance(page_ms, bool):
            # page clock minus ours, less the one-way delay: the largest sample is the closest.
            sample = float(page_ms) - time.time() * 1000.0
            known = upload.times.page_minus_studio_ms
            upload.times.page_minus_studio_ms = sample if known is None else max(known, sample)
        started = report.get("recorderStartedMs")
        if isinstance(started, (int, float)) and not isinstance(started, bool):
            upload.times.recorder_started_ms = float(started)
        if isinstance(report.get("mimeType"), str):
            upload.mime_type = report["mimeType"][:200]
        if report.get("state") == "ended" and self._current.get(self._key(guest)) is upload:
            # The page's recording ended on its own (another camera or microphone) while the
            # studio still wants one: a new file from here on.
            del self._current[self._key(guest)]
            self.start(guest, *self._origin[self._key(guest)])

    def _first_report(self, guest: Guest, running: GuestUpload | None) -> None:
        """On this connection's first report: carry on with the recording the page is still
        making (if the studio takes it), else ask for the one waiting."""
        if guest.guest_id in self._heard:
            return
        self._heard.add(guest.guest_id)
        key = self._key(guest)
        pending = self._pending.get(key)
        if pending is None:
            return
        if running is not None and running.open:
            self._pending.pop(key)
            self._origin[key] = pending
            self._current[key] = self._last[key] = running
            log.info("guest %r's browser still records %s: it goes on", guest.name, running.part.name)
            self.send_wanted(guest)
            return
        self.start(guest, *pending)

    def guest_left(self, guest: Guest) -> None:
        self._heard.discard(guest.guest_id)
        key = self._key(guest)
        self._pending.pop(key, None)
        upload = self._current.pop(key, None)
        if upload is not None and upload.open:
            self._resumable[key] = upload  # until it is finished or the guest is back
        else:
            self._origin.pop(key, None)
            self._last.pop(key, None)
            self._reports.pop(key, None)
        for stale in [k for k, u in self._resumable.items() if not u.open]:
            del self._resumable[stale]
        self.uploads.guest_left(guest.name)

    def status(self, guest: Guest) -> dict[str, Any]:
        upload = self._last.get(self._key(guest))
        if upload is None:
            return {"record_at": record_at(guest.config), "guest_recording": None}
        report = self._reports.get(self._key(guest), {})
        recorded = report.get("recordedBytes")
        uploaded = upload.size
        progress = None
        if isinstance(recorded, int) and recorded > 0:
            progress = round(min(1.0, uploaded / recorded) * 100, 1)
        return {
            "record_at": record_at(guest.config),
            "guest_recording": {
                **upload.status(), "wanted": self.wanted(guest), "page": report,
                "recorded_bytes": recorded, "uploaded_percent": progress,
            },
        }
