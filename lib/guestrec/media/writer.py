"""The recording worker: one thread per recording, fed through a bounded queue.

Everything slow (encoding, muxing, disk) happens here, never on the asyncio loop. Items
carry their time on the guest timeline (seconds); the writer turns that into file
timestamps: the recording starts at its first video keyframe (copy) or first video frame
(transcode), or its first audio for audio-only plans, and that instant is 0 in the file.

Splitting: a new file starts on a video keyframe at or after the split time (transcode:
a new encoder, so a keyframe; copy: the first keyframe from the guest, which is asked for
shortly before). Audio goes to the old file up to that instant and to the new one after,
so the seam has neither gap nor overlap beyond one audio frame.

A write error (disk full...) ends the recording: the files are closed as far as they got,
the error goes into the status and the sidecar, and the owner is told.

This module is the thread, its queue and the start/end of a recording; the files and
splits are in segments.py, the video path in video_path.py, the audio path in audio_path.py.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..common.plan import RecordPlan
from . import audioline
from .audio_path import AudioPath
from .bitstream import H264ParameterSets
from .item import Item
from .ledger import StreamLedger
from .segments import Segment, SegmentFiles, copy_container_ext, plan_ext, remove_empty
from .storage import FolderDeleted, StorageWatch
from .summary import segment_summary
from .video_path import VideoPath, encode_size

__all__ = [  # imported from here by recorder.py and the tests
    "Item", "RecordingWriter", "Segment", "copy_container_ext", "encode_size", "plan_ext",
]

log = logging.getLogger(__name__)

MAX_ITEMS = 400  # about 5 s of audio + video
MAX_DECODED_VIDEO = 75  # decoded frames are big (1.4 MB at 720p): about 2.5 s
VIDEO_WAIT_SECONDS = 5.0  # how long a video recording waits for video before going audio-only
LAG_WARN_SECONDS = 2.0  # a recording this far behind live is logged (and again every 10 s)


class RecordingWriter(SegmentFiles, VideoPath, AudioPath):
    def __init__(
        self,
        guest: str,
        plan: RecordPlan,
        first_path: Path,
        split_seconds: float | None,
        expect_video: bool,
        expect_audio: bool,
        copy_video_codec: str | None,
        notify: Callable[[str], None],
        request_keyframe: Callable[[], None],
        guest_stats: Callable[[], dict] | None = None,
        ledgers: dict[str, StreamLedger] | None = None,
        take: dict | None = None,
    ) -> None:
        self.ledgers = ledgers or {"video": StreamLedger(), "audio": StreamLedger()}
        self.lag = 0.0  # seconds between a frame's arrival and its writing, latest
        self.max_lag = 0.0
        self._lag_logged_at = 0.0
        self.ending = False  # the recording's last files are being closed
        self.storage = StorageWatch()
        self.warning: str | None = None  # a storage problem that has not stopped the recording
        self._folder_deleted = False
        self.guest = guest
        # The take this recording is a part of: {"id", "part", "previous_file"}.
        self.take = dict(take or {"id": secrets.token_hex(8), "part": 1, "previous_file": None})
        self.plan = plan
        self.out_dir = first_path.parent
        self._next_path: Path | None = first_path
        self.split_seconds = split_seconds if split_seconds and split_seconds > 0 else None
        self.video_on = plan.video and expect_video
        self.audio_on = expect_audio
        self.copy_video_codec = copy_video_codec
        self.notify = notify
        self.request_keyframe = request_keyframe
        self.guest_stats = guest_stats or dict

        self.queue: queue.Queue[Item | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued = 0
        self._queued_video = 0
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"recorder-{guest}", daemon=True)

        # state below belongs to the worker thread; readers take snapshots
        self.t0: float | None = None
        self.current: Segment | None = None
        self.draining: Segment | None = None
        self.finished: list[dict] = []
        self.error: str | None = None
        self.dropped = {"video": 0, "audio": 0}
        self.failed = False
        self.done = threading.Event()
        self.current_path: Path | None = first_path
        self.started_utc: datetime | None = None
        self._next_split_t: float | None = None
        self._last_split_pli = 0.0
        self._target_size: tuple[int, int] | None = None
        # The size the guest's camera captures, as its page reports it (set from the loop
        # thread; a tuple is swapped atomically). A browser that is still ramping up sends
        # smaller frames at first: the file is made at the camera's size, not theirs.
        self.capture_size: tuple[int, int] | None = None
        self._h264 = H264ParameterSets()
        self._audio_line = audioline.AudioLine() if not self._audio_copy else None
        self._copy_audio_next: int | None = None  # copy: next expected sample position
        self._silence: bytes | None = None
        self._copy_audio_origin = (0.0, 0)  # (monotonic time, line sample) of the first packet
        self.audio_gaps = 0
        self.audio_gap_samples = 0
        self._bytes_done = 0
        self._final_seconds = 0.0
        self._video_last: tuple[int, int] | None = None  # (rtp, recording position)
        self._early_audio: list[Item] = []
        self._video_gave_up = False
        self.video_resyncs = 0

    # -- feeding (any thread) --------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def submit(self, item: Item) -> bool:
        """Queue an item without ever blocking; False (and counted) when full."""
        heavy = item.kind == "video" and item.frame is not None
        with self._lock:
            if self._stopping.is_set() or self.failed:
                if item.rtp is not None:
                    reason = "write_failed" if self.failed else "stop_backlog"
                    self.ledgers[item.kind].dropped(item.rtp, reason)
                return False
            if self._queued >= MAX_ITEMS or (heavy and self._queued_video >= MAX_DECODED_VIDEO):
                self.dropped[item.kind] += 1
                if item.rtp is not None:
                    self.ledgers[item.kind].dropped(item.rtp, "queue_full")
                return False
            self._queued += 1
            if heavy:
                self._queued_video += 1
        self.queue.put_nowait(item)
        return True

    def has_room(self, kind: str, decoded: bool) -> bool:
        """Whether an item of this kind would be taken now (not dropped for a full queue)."""
        with self._lock:
            heavy = kind == "video" and decoded
            return self._queued < MAX_ITEMS and not (heavy and self._queued_video >= MAX_DECODED_VIDEO)

    def stop(self) -> None:
        """Finish what is queued, then finalize; returns at once (wait on `done`)."""
        self._stopping.set()
        self.queue.put_nowait(None)

    # -- worker ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    break
                with self._lock:
                    self._queued -= 1
                    if item.kind == "video" and item.frame is not None:
                        self._queued_video -= 1
                if self.failed:
                    if item.rtp is not None:
                        self.ledgers[item.kind].dropped(item.rtp, "write_failed")
                    continue
                self._note_lag(item)
                try:
                    self._handle(item)
                except Exception as exc:  # noqa: BLE001 - disk full, encoder failure...
                    self._fail(exc)
            if not self.failed:
                try:
                    self._finish()
                except Exception as exc:  # noqa: BLE001 - the recording fails, the writer thread does not
                    self._fail(exc)
        finally:
            self.done.set()
            self.notify("stopped")

    def _note_lag(self, item: Item) -> None:
        """How far behind live the recording is (timeline times are on the monotonic scale)."""
        now = time.monotonic()
        self.lag = max(0.0, now - item.t)
        self.max_lag = max(self.max_lag, self.lag)
        if self.lag >= LAG_WARN_SECONDS and now - self._lag_logged_at >= 10.0:
            self._lag_logged_at = now
            log.warning("recording of %s is %.1f s behind live (the machine is not keeping up)",
                        self.guest, self.lag)

    def _fail(self, exc: BaseException) -> None:
        log.warning("recording of %s failed: %s", self.guest, exc)
        self.error = f"{type(exc).__name__}: {exc}"
        self.failed = True
        self.ending = True
        if isinstance(exc, FolderDeleted):
            self._folder_deleted = True
            try:  # new recordings need it anyway; the sidecar says what was lost
                self.out_dir.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        for seg in (self.draining, self.current):
            if seg is not None:
                seg.errors.append(self.error)
                seg.file.abandon()
                self._close_segment(seg, final=True, clean=False)
        self.draining = self.current = None
        self.notify("failed")

    # -- starting --------------------------------------------------------------------

    def _handle(self, item: Item) -> None:
        warning = self.storage.check()  # raises FolderDeleted
        if warning:
            self.warning = warning
            log.warning("recording of %s: %s", self.guest, warning)
            self.notify("warning")
        if self.t0 is None and not self._try_start(item):
            return
        if item.kind == "video":
            self._video(item)
        else:
            self._audio(item)
        self._maybe_end_drain(item)

    def _try_start(self, item: Item) -> bool:
        if self.video_on and not self._video_gave_up:
            if item.kind == "audio":
                # Kept while waiting for the first video frame (the camera may start late):
                # the file starts with the first audio either way, nothing of it is lost.
                self._early_audio.append(item)
                if item.t - self._early_audio[0].t < VIDEO_WAIT_SECONDS:
                    return False
                self._start_audio_only()
                return False  # this item was among the early ones
            if not self._video_startable(item):
                return False
            if self._early_audio:
                # Audio came first: the file starts at it and the video joins later in it.
                early, self._early_audio = self._early_audio, []
                # (Audio decoded sooner can still lie after the video on the timeline.)
                self._begin(item, origin=early[0].t if early[0].t < item.t else None)
                for waiting in early:
                    self._audio(waiting)
                return True
        elif item.kind == "video" and not self.video_on:
            return False
        self._begin(item)
        return True

    def _start_audio_only(self) -> None:
        """No video in time (or none at all before the end): the file is the audio so far."""
        self._video_gave_up = True  # video, if it comes later, gets a new file
        early, self._early_audio = self._early_audio, []
        self._begin(early[0])
        for waiting in early:
            self._audio(waiting)

    def _begin(self, item: Item, origin: float | None = None) -> None:
        """Open the first file at `item`; with `origin` (earlier audio) the file's 0 is there."""
        self.t0 = item.t if origin is None else origin
        if self.split_seconds:
            self._next_split_t = self.t0 + self.split_seconds
        self._open_segment(item, at_origin=origin is not None)
        self.notify("started")

    # -- finishing -------------------------------------------------------------------

    def _finish(self) -> None:
        self.ending = True
        if self.t0 is None and self._early_audio and not self.failed:
            self._start_audio_only()  # the camera never sent: the audio is still a recording
        if self._audio_line is not None and self.current is not None:
            for pos, samples in self._audio_line.flush():
                self._route_audio_chunk(pos, samples)
        self._end_drain()
        if self.current is not None:
            self._close_segment(self.current, final=True)
            self.current = None
        elif self.t0 is None and self._next_path is not None:
            # Nothing ever came: leave no empty media file behind, but say why.
            remove_empty(self._next_path)
            self.error = self.error or "no media arrived"

    # -- reporting -------------------------------------------------------------------

    def _summary(self, seg: Segment, final: bool) -> dict:
        return segment_summary(self, seg, final)

    def seconds_written(self) -> float:
        seg = self.current
        if seg is None or self.t0 is None:
            return self._final_seconds
        return self._segment_end_seconds(seg)

    def bytes_written(self) -> int:
        seg = self.current
        return self._bytes_done + (seg.file.bytes_written if seg is not None else 0)
