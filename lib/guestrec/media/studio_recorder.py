"""The loop side of one recording: picks what to feed, times it, hands it to the writer.

Runs on the asyncio loop and never blocks it: items go to the writer thread through a
bounded queue; when the queue is full an item is dropped and counted (a copied video
stream then waits for the next keyframe, asked for at once, so the file stays decodable).

Until the guest timeline knows how audio and video relate (first RTCP sender reports, at
most a second or two after the guest starts sending), items are held here, so the start
of a file is already in sync.

Every frame is accounted for (ledger.py): the sidecar says how many arrived, how many are
in the file and how many were dropped, and why.

Stopping (hang-up or stop): the frames that had arrived are still written, however far
behind the recording is. While it catches up the decoded frames wait for room in the
writer's queue instead of being dropped. The bound: the stop gives up once no frame has
come out of the decoders for STOP_IDLE_SECONDS, or after STOP_BACKLOG_SECONDS in all;
what is left then is dropped and counted as "stop_backlog".
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path

import av

from ..common.names import reserve_recording_path
from ..common.plan import RecordPlan
from .ledger import StreamLedger
from .storage import check_free_space
from .tap import EncodedFrame
from .timeline import Timeline
from .writer import Item, RecordingWriter, plan_ext

log = logging.getLogger(__name__)

MAX_HELD = 300  # items held while the timeline is not ready (a few seconds)
STOP_IDLE_SECONDS = 1.0  # at stop, give up when the decoders delivered nothing for this long
STOP_BACKLOG_SECONDS = 30.0  # at stop, the longest wait for a backlog to be written
ROOM_POLL_SECONDS = 0.01


class StudioRecorder:
    def __init__(
        self,
        guest: str,
        plan: RecordPlan,
        out_dir: Path,
        split_minutes: float | None,
        timeline: Timeline,
        has_video: bool,
        has_audio: bool,
        copy_video_codec: str | None,
        request_keyframe: Callable[[], None],
        on_event: Callable[[str], None],
        guest_stats: Callable[[], dict],
        take: dict | None = None,
    ) -> None:
        self.plan = plan
        self.timeline = timeline
        self.request_keyframe = request_keyframe
        self.on_event = on_event
        self.loop = asyncio.get_running_loop()
        ext = plan_ext(plan, copy_video_codec)
        check_free_space(out_dir)  # OSError: a full disk is refused before any file is made
        self.path = reserve_recording_path(out_dir, guest, ext)  # OSError if unwritable
        # What this recording takes, and in which form.
        self.video = plan.video and has_video
        self.decoded_kinds: set[str] = set()
        self.encoded_kinds: set[str] = set()
        if self.video:
            (self.encoded_kinds if plan.copy else self.decoded_kinds).add("video")
        if has_audio:
            copy_audio = plan.copy and plan.audio_codec == "opus"
            (self.encoded_kinds if copy_audio else self.decoded_kinds).add("audio")
        self.ledgers = {"video": StreamLedger(), "audio": StreamLedger()}
        self._first_arrival: dict[str, int] = {}
        self.writer = RecordingWriter(
            guest=guest, plan=plan, first_path=self.path,
            split_seconds=split_minutes * 60 if split_minutes else None,
            expect_video=self.video, expect_audio=has_audio,
            copy_video_codec=copy_video_codec,
            notify=self._notify_threadsafe,
            request_keyframe=self._keyframe_threadsafe,
            guest_stats=guest_stats,
            ledgers=self.ledgers,
            take=take,
        )
        self._held: deque[tuple[str, int, object]] = deque()
        self._video_broken = False
        self._broken_reason = "damaged"  # why copied video waits for a key frame
        self.active = True
        self.stopped = asyncio.Event()
        # Stopping: frames that had arrived before the stop may still be in aiortc's
        # decoders; the file ends once each decoded stream caught up with what had arrived.
        self._seen: dict[str, int] = {}  # newest RTP timestamp that arrived, per kind
        self._stop_at: dict[str, int] | None = None
        self._tail_done = asyncio.Event()
        self._stopping: asyncio.Future | None = None
        self._delivered_at_stop = 0.0  # loop time of the last frame taken while stopping

    def start(self) -> None:
        self.writer.start()
        if self.video and self.plan.copy:
            self.request_keyframe()

    # -- thread -> loop --------------------------------------------------------------

    def _notify_threadsafe(self, event: str) -> None:
        self._to_loop(self._on_writer_event, event)

    def _keyframe_threadsafe(self) -> None:
        self._to_loop(self.request_keyframe)

    def _to_loop(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is already closed (engine shut down): nobody to tell
            pass

    def _on_writer_event(self, event: str) -> None:
        if event in ("failed", "stopped"):
            self.active = False
        if event == "failed" and not self.writer.done.is_set():
            self.writer.stop()  # the thread has nothing more to do
        if event == "stopped":
            self.stopped.set()
        self.on_event(event)

    # -- feeding ---------------------------------------------------------------------

    def feed_encoded(self, frame: EncodedFrame, unwrapped: int) -> None:
        kind = frame.kind
        if self._stop_at is None:
            self._seen[kind] = max(unwrapped, self._seen.get(kind, unwrapped))
            if self.active and (kind in self.encoded_kinds or kind in self.decoded_kinds):
                self.ledgers[kind].arrived(unwrapped)
                self._first_arrival.setdefault(kind, unwrapped)
        if not self.active or kind not in self.encoded_kinds:
            return
        if frame.kind == "video":
            # A frame with a hole, or one after a dropped frame, would not decode: skip
            # until the next keyframe.
            if not frame.intact:
                self._video_broken, self._broken_reason = True, "damaged"
            elif self._video_broken and frame.keyframe:
                self._video_broken = False
            if self._video_broken:
                self.request_keyframe()
                self.ledgers["video"].dropped(unwrapped, self._broken_reason)
                return
        self._offer(frame.kind, unwrapped, frame)

    def feed_decoded(self, kind: str, frame: av.VideoFrame | av.AudioFrame, unwrapped: int) -> None:
        if not self.active or kind not in self.decoded_kinds:
            return
        first = self._first_arrival.get(kind)
        if first is None or unwrapped < first:
            return  # was in the decoder before the recording started: not part of it
        if self._stop_at is not None:
            self._delivered_at_stop = self.loop.time()
        self._offer(kind, unwrapped, frame)

    def _offer(self, kind: str, unwrapped: int, payload: object) -> None:
        if not self.timeline.ready():
            self._held.append((kind, unwrapped, payload))
            while len(self._held) > MAX_HELD:
                dropped_kind, dropped_rtp, _ = self._held.popleft()
                self.ledgers[dropped_kind].dropped(dropped_rtp, "held_overflow")
            return
        while self._held:
            self._submit(*self._held.popleft())
        self._submit(kind, unwrapped, payload)

    def _submit(self, kind: str, unwrapped: int, payload: object) -> None:
        t = self.timeline.seconds(kind, unwrapped)
        if t is None:
            return
        if self._stop_at is not None:
            last = self._stop_at.get(kind)
            if last is None:
                return  # this stream has reached the stop
            if unwrapped >= last:
                del self._stop_at[kind]
                if not self._stop_at:
                    self._tail_done.set()
                if unwrapped > last:
                    return
        if isinstance(payload, EncodedFrame):
            item = Item(kind, t, data=payload.data, keyframe=payload.keyframe,
                        codec=payload.codec, rtp=unwrapped)
        else:
            item = Item(kind, t, frame=payload, rtp=unwrapped)  # type: ignore[arg-type]
        if not self.writer.submit(item) and kind == "video" and self.plan.copy:
            self._video_broken, self._broken_reason = True, "after_drop"
            self.request_keyframe()

    @property
    def catching_up(self) -> bool:
        """Stopping with frames still to take: they wait for room rather than be dropped."""
        return self._stop_at is not None and self.active

    async def wait_for_room(self, kind: str) -> None:
        """Wait (while stopping, within its bound) until the writer takes a decoded frame."""
        while self.catching_up and not self.writer.has_room(kind, decoded=True):
            await asyncio.sleep(ROOM_POLL_SECONDS)

    def stream_ended(self, kind: str) -> None:
        """No more decoded frames of this kind will come (the guest's track ended)."""
        if self._stop_at is not None and kind in self._stop_at:
            del self._stop_at[kind]
            if not self._stop_at:
                self._tail_done.set()

    # -- stopping & status -----------------------------------------------------------

    async def stop(self, wait_for_decoders: bool = True) -> dict | None:
        """Finish the recording (once, however often it is asked); returns the summary.

        wait_for_decoders: take in the frames still being decoded (not when the guest's
        connection is already gone and no more frames can come).
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(wait_for_decoders))
        return await asyncio.shield(self._stopping)

    async def _stop(self, wait_for_decoders: bool) -> dict | None:
        if self._held and self.active:
            # Ending before the first sender reports: write what was held, by arrival.
            self.timeline.stop_waiting()
            while self._held:
                self._submit(*self._held.popleft())
        self._stop_at = {k: v for k, v in self._seen.items() if k in self.decoded_kinds}
        for ledger in self.ledgers.values():
            ledger.stop()
        try:
            waited = wait_for_decoders and self.active and self._stop_at and self.timeline.ready()
            if waited and not await self._wait_for_backlog():
                for ledger in self.ledgers.values():
                    ledger.residual_reason = "stop_backlog"
        finally:
            # Even when cancelled (a shutdown out of time), the writer thread is told to
            # finalize: otherwise it would wait on its queue forever.
            self.active = False
            self._held.clear()
            if not self.writer.done.is_set():
                self.writer.stop()
        await self.stopped.wait()
        return self.summary()

    async def _wait_for_backlog(self) -> bool:
        """Until every decoded stream reached the stop; False when the bound ran out."""
        loop = self.loop
        started = self._delivered_at_stop = loop.time()
        while not self._tail_done.is_set():
            now = loop.time()
            if now - self._delivered_at_stop >= STOP_IDLE_SECONDS or now - started >= STOP_BACKLOG_SECONDS:
                log.warning("recording of %s ended with frames still unwritten (%.1f s after the stop)",
                            self.writer.guest, now - started)
                return False
            try:
                await asyncio.wait_for(self._tail_done.wait(), 0.25)
            except TimeoutError:
                pass
        return True

    def summary(self) -> dict | None:
        finished = self.writer.finished
        if not finished:
            return None
        result = dict(finished[-1])
        if len(finished) > 1:
            result["files"] = [s["file"] for s in finished]
        if self.writer.error:
            result["error"] = self.writer.error
        return result

    def status(self) -> dict:
        writer = self.writer
        started = writer.started_utc
        return {
            "recording": self.active and not writer.failed,
            "path": str(writer.current_path) if writer.current_path else str(self.path),
            "started_utc": started.isoformat() if started else None,
            "seconds": round(writer.seconds_written(), 3),
            "bytes": writer.bytes_written(),
            "error": writer.error,
            "files": [s["file"] for s in writer.finished],
            "dropped": dict(writer.dropped),
            "lag_seconds": round(writer.lag, 2) if self.active else 0.0,
            "warning": writer.warning,
        }
