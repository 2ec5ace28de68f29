"""The files of a recording: opening a file (a segment of the take), splitting to the
next one, letting the old one take late audio for a while, and closing it with its sidecar.

A mixin of RecordingWriter (writer.py): it works on the writer's worker-thread state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..common.names import reserve_recording_path
from ..common.plan import RecordPlan
from .item import Item
from .mediafile import AudioSpec, MediaFile
from .sidecar import SidecarFile, write_sidecar

SPLIT_LEAD_SECONDS = 0.2  # copy: ask for a keyframe this long before a split is due (~ its round trip)
DRAIN_SECONDS = 2.0  # how long an old file waits for late audio after a split


@dataclass
class Segment:
    file: MediaFile
    start_t: float
    video_start: int  # recording 90 kHz position of the file's 0
    audio_start: int  # recording sample position of the file's 0
    started_utc: datetime
    video_codec: str | None
    # The wall-clock instant of the file's time 0 by the media's own timing (the first
    # frame's arrival, RTP/RTCP mapped), not the later moment the file was opened.
    media_start_utc: datetime | None = None
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


class SegmentFiles:
    """Opens, splits and closes the files of a RecordingWriter."""

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
                remove_empty(path)
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
            remove_empty(path)
            raise
        try:
            media = MediaFile(path, video_spec, self._audio_spec())
        except Exception:
            sidecar.close()
            sidecar.path.unlink(missing_ok=True)
            remove_empty(path)
            raise
        self.storage.watch(path)
        seg = Segment(
            file=media,
            start_t=self.t0 if at_origin else item.t,
            video_start=video_start,
            audio_start=audio_start,
            started_utc=datetime.now(UTC),
            video_codec=video_codec,
            media_start_utc=wall_clock(self.t0 + audio_start / 48_000),
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
        self._end_drain()
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
            self._end_drain()

    def _end_drain(self) -> None:
        """The old file takes no more late audio: close it."""
        if self.draining is not None:
            self._close_segment(self.draining, final=True)
            self.draining = None

    def _close_segment(self, seg: Segment, final: bool, clean: bool = True) -> None:
        if clean:
            seg.file.close()
        seg.ended_utc = datetime.now(UTC)
        if self.t0 is not None:
            self._final_seconds = max(self._final_seconds, self._segment_end_seconds(seg))
        if not clean and seg.file.bytes_written == 0:
            remove_empty(seg.file.path)  # nothing of it reached the disk: no empty file left
        summary = self._summary(seg, final=True)
        self._bytes_done += seg.file.bytes_written
        self.finished.append(summary)
        if self._folder_deleted or seg.sidecar is None:
            if seg.sidecar is not None:
                seg.sidecar.close()
            write_sidecar(seg.file.path, summary, final=True)  # beside where the file was
        elif not seg.sidecar.write(summary, final=True) and not seg.file.path.exists():
            seg.sidecar.path.unlink(missing_ok=True)

    def _segment_end_seconds(self, seg: Segment) -> float:
        assert self.t0 is not None
        st = seg.file.stats
        ends = [x for x in (
            st.video.end_pts / 90_000 if st.video.end_pts is not None else None,
            st.audio.end_pts / 48_000 if st.audio.end_pts is not None else None,
        ) if x is not None]
        return (seg.start_t - self.t0) + (max(ends) if ends else 0.0)


def wall_clock(t: float) -> datetime:
    """The UTC instant of a guest-timeline time (seconds on the time.monotonic() scale)."""
    return datetime.now(UTC) - timedelta(seconds=time.monotonic() - t)


def remove_empty(path: Path) -> None:
    try:
        if path.exists() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass
