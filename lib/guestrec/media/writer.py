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
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import av
import numpy as np

from ..names import reserve_recording_path
from ..plan import RecordPlan
from . import audioline
from .bitstream import H264ParameterSets, opus_packet_samples, vp8_frame_size
from .ledger import StreamLedger
from .mediafile import AudioSpec, MediaFile, VideoSpec
from .sidecar import SidecarFile, write_sidecar
from .summary import segment_summary
from .storage import FolderDeleted, StorageWatch
from .videofit import fit_frame

log = logging.getLogger(__name__)

MAX_ITEMS = 400  # about 5 s of audio + video
MAX_DECODED_VIDEO = 75  # decoded frames are big (1.4 MB at 720p): about 2.5 s
VIDEO_WAIT_SECONDS = 5.0  # how long a video recording waits for video before going audio-only
SPLIT_LEAD_SECONDS = 0.2  # copy: ask for a keyframe this long before a split is due (~ its round trip)
DRAIN_SECONDS = 2.0  # how long an old file waits for late audio after a split
# Video timestamps follow the guest's RTP clock frame to frame; the timeline (sender
# reports) only moves them when the two disagree by more than this (90 kHz ticks).
VIDEO_RESYNC_TICKS = 1350  # 15 ms
LAG_WARN_SECONDS = 2.0  # a recording this far behind live is logged (and again every 10 s)


@dataclass
class Item:
    kind: str  # "video" | "audio"
    t: float  # seconds on the guest timeline
    frame: av.VideoFrame | av.AudioFrame | None = None  # decoded (transcode / PCM)
    data: bytes | None = None  # encoded (copy)
    keyframe: bool = False
    codec: str | None = None
    rtp: int | None = None  # unwrapped RTP timestamp (video: 90 kHz)


@dataclass
class Segment:
    file: MediaFile
    start_t: float
    video_start: int  # recording 90 kHz position of the file's 0
    audio_start: int  # recording sample position of the file's 0
    started_utc: datetime
    video_codec: str | None
    ended_utc: datetime | None = None
    previous_file: str | None = None  # the file before this one in the take
    next_file: str | None = None
    video_frames: int = 0
    video_gaps: int = 0
    last_video_t: float | None = None
    errors: list[str] = field(default_factory=list)
    sidecar: SidecarFile | None = None


def copy_container_ext(plan: RecordPlan, video_codec: str | None) -> str:
    """File extension for a copy recording: WebM holds VP8/VP9/AV1 + Opus only."""
    pcm = plan.audio_codec == "pcm_f32le"
    if not plan.video:
        return "mka" if pcm else "webm"
    if video_codec in ("vp8", "vp9", "av1") and not pcm:
        return "webm"
    return "mkv"


def plan_ext(plan: RecordPlan, copy_video_codec: str | None) -> str:
    if plan.copy:
        return copy_container_ext(plan, copy_video_codec)
    return plan.container


class RecordingWriter:
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
        self.guest_stats = guest_stats or (lambda: {})

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

    @property
    def _audio_copy(self) -> bool:
        return self.plan.copy and self.plan.audio_codec == "opus"

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
                except Exception as exc:  # disk full, encoder failure...
                    self._fail(exc)
            if not self.failed:
                try:
                    self._finish()
                except Exception as exc:
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
        if self.t0 is None:
            if not self._try_start(item):
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

    def _video_startable(self, item: Item) -> bool:
        if not self.plan.copy:
            return item.frame is not None
        if item.codec == "h264" and item.data:
            self._h264.update(item.data)
        if item.keyframe and self._video_spec_for(item) is not None:
            return True
        self.request_keyframe()
        return False

    def _video_spec_for(self, item: Item) -> VideoSpec | None:
        if not self.plan.copy:
            frame = item.frame
            assert isinstance(frame, av.VideoFrame)
            if self._target_size is None:
                self._target_size = (frame.width & ~1, frame.height & ~1)
            w, h = self._target_size
            return VideoSpec(self.plan.video_codec or "vp8", w, h, copy=False, kbps=self.plan.video_kbps)
        size = None
        if item.codec == "vp8" and item.data:
            size = vp8_frame_size(item.data)
        elif item.codec == "h264":
            size = self._h264.size()
            if size is None:
                return None
        if size is None:
            return None
        return VideoSpec(item.codec or "vp8", size[0], size[1], copy=True)

    def _audio_spec(self) -> AudioSpec | None:
        if not self.audio_on:
            return None
        if self.plan.audio_codec == "pcm_f32le":
            return AudioSpec("pcm_f32le", copy=False)
        return AudioSpec("opus", copy=self.plan.copy, kbps=self.plan.audio_kbps)

    def _open_segment(self, item: Item, at_origin: bool = False) -> None:
        video_spec = None
        video_codec = None
        if self.video_on and item.kind == "video":
            video_spec = self._video_spec_for(item)
            video_codec = video_spec.codec if video_spec else None
        ext = plan_ext(self.plan, video_codec if self.plan.copy else None)
        path = self._next_path
        self._next_path = None
        if path is None or path.suffix.lstrip(".") != ext:
            if path is not None:
                _remove_empty(path)
            path = reserve_recording_path(self.out_dir, self.guest, ext)
        assert self.t0 is not None
        if at_origin:
            video_start = audio_start = 0  # the recording's first instant (t0) is 0
        elif item.kind == "video":
            # The same position the frame itself gets, so it lands exactly on 0.
            video_start = self._video_position(item)
            audio_start = round(video_start * 48_000 / 90_000)
        else:
            # Split on audio: the new file starts right after the last sample the old got.
            line = self._audio_line.emitted_until if self._audio_line else self._copy_audio_next
            audio_start = line if line is not None else round((item.t - self.t0) * 48_000)
            video_start = round(audio_start * 90_000 / 48_000)
        try:
            # Made first: a disk too full for it gets no media file either.
            sidecar = SidecarFile(path, {"guest": self.guest, "file": path.name, "status": "recording"})
        except OSError:
            _remove_empty(path)
            raise
        try:
            media = MediaFile(path, video_spec, self._audio_spec())
        except Exception:
            sidecar.close()
            sidecar.path.unlink(missing_ok=True)
            _remove_empty(path)
            raise
        self.storage.watch(path)
        seg = Segment(
            file=media,
            start_t=self.t0 if at_origin else item.t,
            video_start=video_start,
            audio_start=audio_start,
            started_utc=datetime.now(timezone.utc),
            video_codec=video_codec,
            sidecar=sidecar,
            previous_file=(self.current.file.path.name if self.current is not None
                           else self.take.get("previous_file")),
        )
        if self.current is not None:
            self.current.next_file = path.name
        self.current = seg
        self.current_path = path
        if self.started_utc is None:
            self.started_utc = seg.started_utc
        sidecar.write(self._summary(seg, final=False))

    def _rotate(self, item: Item, reason: str) -> None:
        """Start the next file at this item (a video keyframe / frame)."""
        old = self.current
        assert old is not None
        if self.draining is not None:
            self._close_segment(self.draining, final=True)
        if reason != "split":
            old.errors.append(f"file ended: {reason}")
        self._open_segment(item)
        if old.file.audio_stream is not None and self.audio_on:
            self.draining = old  # late audio before the seam still goes there
        else:
            self._close_segment(old, final=True)
        if self.split_seconds:
            # A copy split may come a little early (SPLIT_LEAD_SECONDS): that split counts.
            while self._next_split_t is not None and self._next_split_t <= item.t + SPLIT_LEAD_SECONDS:
                self._next_split_t += self.split_seconds
        self.notify("split")

    def _maybe_end_drain(self, item: Item) -> None:
        seg = self.draining
        if seg is None or self.current is None:
            return
        if item.t - self.current.start_t >= DRAIN_SECONDS:
            self._close_segment(seg, final=True)
            self.draining = None

    def _close_segment(self, seg: Segment, final: bool, clean: bool = True) -> None:
        if clean:
            seg.file.close()
        seg.ended_utc = datetime.now(timezone.utc)
        if self.t0 is not None:
            self._final_seconds = max(self._final_seconds, self._segment_end_seconds(seg))
        if not clean and seg.file.bytes_written == 0:
            _remove_empty(seg.file.path)  # nothing of it reached the disk: no empty file left
        summary = self._summary(seg, final=True)
        self._bytes_done += seg.file.bytes_written
        self.finished.append(summary)
        if self._folder_deleted or seg.sidecar is None:
            if seg.sidecar is not None:
                seg.sidecar.close()
            write_sidecar(seg.file.path, summary, final=True)  # beside where the file was
        elif not seg.sidecar.write(summary, final=True) and not seg.file.path.exists():
            seg.sidecar.path.unlink(missing_ok=True)

    # -- video -----------------------------------------------------------------------

    def _video(self, item: Item) -> None:
        seg = self.current
        assert seg is not None and self.t0 is not None
        if not self.video_on:
            return
        if self.plan.copy and item.codec == "h264" and item.data:
            self._h264.update(item.data)
        if seg.file.video_stream is None:
            # The file started without video (none came in time): video gets a new file.
            if self._video_startable(item):
                self._rotate(item, "video arrived after the recording started")
                seg = self.current
            else:
                return
        elif self.plan.copy and item.codec != seg.video_codec:
            if self._video_startable(item):
                self._rotate(item, f"video codec changed to {item.codec}")
                seg = self.current
            else:
                return
        elif self._next_split_t is not None:
            if self.plan.copy:
                if item.t >= self._next_split_t - SPLIT_LEAD_SECONDS:
                    if item.keyframe and self._video_spec_for(item) is not None:
                        self._rotate(item, "split")
                        seg = self.current
                    elif time.monotonic() - self._last_split_pli > 1.0:
                        self._last_split_pli = time.monotonic()
                        self.request_keyframe()
            elif item.t >= self._next_split_t:
                self._rotate(item, "split")
                seg = self.current
        assert seg is not None
        pts = self._video_position(item) - seg.video_start
        if pts < 0:
            return
        if seg.last_video_t is not None and item.t - seg.last_video_t > 0.5:
            seg.video_gaps += 1
        seg.last_video_t = item.t
        if self.plan.copy:
            data = item.data or b""
            if item.codec == "h264" and item.keyframe and seg.video_frames == 0:
                data = self._h264.complete_keyframe(data) or data
            seg.file.write_video_packet(data, pts, item.keyframe)
        else:
            frame = item.frame
            assert isinstance(frame, av.VideoFrame) and self._target_size is not None
            frame = fit_frame(frame, *self._target_size)
            seg.file.encode_video(frame, pts)
        seg.video_frames += 1
        self.ledgers["video"].wrote(item.rtp)

    def _video_position(self, item: Item) -> int:
        """Recording position (90 kHz) of a video frame: RTP-continuous, timeline-anchored."""
        assert self.t0 is not None
        anchored = round((item.t - self.t0) * 90_000)
        position = anchored
        if self._video_last is not None and item.rtp is not None:
            last_rtp, last_position = self._video_last
            step = item.rtp - last_rtp
            following = last_position + step
            if abs(following - anchored) <= VIDEO_RESYNC_TICKS:
                position = following
            else:
                self.video_resyncs += 1
                if anchored < following:
                    # Going back: catch up at no more than half speed, never a jump back.
                    position = max(anchored, last_position + max(1, step // 2))
        if item.rtp is not None:
            self._video_last = (item.rtp, position)
        return position

    # -- audio -----------------------------------------------------------------------

    def _audio(self, item: Item) -> None:
        if not self.audio_on or self.t0 is None:
            return
        cur = self.current
        if (
            self._next_split_t is not None and cur is not None
            and cur.file.video_stream is None and item.t >= self._next_split_t
        ):
            self._rotate(item, "split")  # no video in this file: split on the audio
        position = round((item.t - self.t0) * 48_000)
        if self._audio_copy:
            if self._audio_copy_packet(item, position):
                self.ledgers["audio"].wrote(item.rtp)
            elif item.rtp is not None:
                self.ledgers["audio"].dropped(item.rtp, "overlap")
            return
        self.ledgers["audio"].wrote(item.rtp)
        assert self._audio_line is not None and isinstance(item.frame, av.AudioFrame)
        for pos, samples in self._audio_line.push(item.frame, position):
            self._route_audio_chunk(pos, samples)
        self.audio_gaps = self._audio_line.gaps
        self.audio_gap_samples = self._audio_line.gap_samples

    def _route_audio_chunk(self, pos: int, samples: np.ndarray) -> None:
        """Send line samples [pos, pos+n) to the file(s) that cover them."""
        cur = self.current
        if cur is None:
            return
        end = pos + len(samples)
        if pos < cur.audio_start:
            old = self.draining
            cut = min(len(samples), cur.audio_start - pos)
            if old is not None and old.file.audio_stream is not None:
                old.file.encode_audio(audioline.make_frame(samples[:cut], pos - old.audio_start))
            samples, pos = samples[cut:], pos + cut
            if end >= cur.audio_start and self.draining is not None:
                self._close_segment(self.draining, final=True)
                self.draining = None
        if len(samples) and cur.file.audio_stream is not None:
            cur.file.encode_audio(audioline.make_frame(samples, pos - cur.audio_start))

    def _silence_packet(self) -> bytes:
        """One 20 ms stereo Opus packet of silence, to fill gaps in copied audio."""
        if self._silence is None:
            enc = av.CodecContext.create("libopus", "w")
            enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 48_000, "stereo", "flt", 32_000
            packets = []
            for i in range(4):
                frame = audioline.make_frame(np.zeros((960, 2), dtype=np.float32), i * 960)
                packets += [bytes(p) for p in enc.encode(frame)]
            self._silence = packets[-1]
        return self._silence

    def _audio_copy_packet(self, item: Item, position: int) -> bool:
        """Write one copied Opus packet; False when it is not written (overlap)."""
        data = item.data or b""
        samples = opus_packet_samples(data) or 960
        expected = self._copy_audio_next
        if expected is None:
            if position + samples <= 0:
                return False
            expected = max(0, position)
            self._copy_audio_origin = (time.monotonic(), expected)
        drift = position - expected
        if drift < -audioline.TOLERANCE:
            return False  # overlaps what was written
        if drift > audioline.TOLERANCE:
            silence = self._silence_packet()
            # As for decoded audio: never run ahead of the wall clock (see audioline).
            wall_start, line_start = self._copy_audio_origin
            wall = (time.monotonic() - wall_start + audioline.WALL_CLOCK_SLACK) * audioline.RATE
            fill = max(0, min(drift, audioline.MAX_FILL, int(wall) - (expected - line_start)))
            self.audio_gaps += 1
            self.audio_gap_samples += fill
            while fill >= 960:
                self._route_audio_packet(silence, expected, 960)
                expected += 960
                fill -= 960
        self._route_audio_packet(data, expected, samples)
        self._copy_audio_next = expected + samples
        return True

    def _route_audio_packet(self, data: bytes, pos: int, samples: int) -> None:
        cur = self.current
        if cur is None:
            return
        if pos < cur.audio_start:
            old = self.draining
            if old is not None and old.file.audio_stream is not None:
                old.file.write_audio_packet(data, pos - old.audio_start, samples)
            if pos + samples >= cur.audio_start and self.draining is not None:
                self._close_segment(self.draining, final=True)
                self.draining = None
            return
        if cur.file.audio_stream is not None:
            cur.file.write_audio_packet(data, pos - cur.audio_start, samples)

    # -- finishing -------------------------------------------------------------------

    def _finish(self) -> None:
        self.ending = True
        if self.t0 is None and self._early_audio and not self.failed:
            self._start_audio_only()  # the camera never sent: the audio is still a recording
        if self._audio_line is not None and self.current is not None:
            for pos, samples in self._audio_line.flush():
                self._route_audio_chunk(pos, samples)
        if self.draining is not None:
            self._close_segment(self.draining, final=True)
            self.draining = None
        if self.current is not None:
            self._close_segment(self.current, final=True)
            self.current = None
        elif self.t0 is None and self._next_path is not None:
            # Nothing ever came: leave no empty media file behind, but say why.
            _remove_empty(self._next_path)
            self.error = self.error or "no media arrived"

    # -- reporting -------------------------------------------------------------------

    def _summary(self, seg: Segment, final: bool) -> dict:
        return segment_summary(self, seg, final)

    def seconds_written(self) -> float:
        seg = self.current
        if seg is None or self.t0 is None:
            return self._final_seconds
        return self._segment_end_seconds(seg)

    def _segment_end_seconds(self, seg: Segment) -> float:
        assert self.t0 is not None
        st = seg.file.stats
        ends = [x for x in (
            st.video.end_pts / 90_000 if st.video.end_pts is not None else None,
            st.audio.end_pts / 48_000 if st.audio.end_pts is not None else None,
        ) if x is not None]
        return (seg.start_t - self.t0) + (max(ends) if ends else 0.0)

    def bytes_written(self) -> int:
        seg = self.current
        return self._bytes_done + (seg.file.bytes_written if seg is not None else 0)


def _remove_empty(path: Path) -> None:
    try:
        if path.exists() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass
