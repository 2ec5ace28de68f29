"""One guest's media: taps the receivers, keeps the A/V timeline, feeds sinks and recordings.

    media = GuestMedia("Anna", on_recording_change=tell_the_guest)   # on the loop
    pc.on("track") -> media.attach(receiver, track)
    media.add_sink(obs_source)              # decoded frames, timestamps on one timeline
    path = media.start_recording(plan, out_dir, split_minutes=None)
    summary = await media.stop_recording()  # the sidecar summary
    await media.close()                     # guest gone: finalize, stop the tasks

Encoded frames are seen as they leave aiortc's jitter buffer (see tap.py). They are
decoded only when something needs pictures or samples: a sink (OBS) or a transcoding
recording. A headless copy recording decodes nothing at all.

Sink timestamps (ns) are guest-timeline seconds on the time.monotonic() scale: roughly
the arrival time, with audio and video related by the guest's RTCP sender reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..common.interfaces import GuestSink, sink_wants
from ..common.plan import RecordPlan
from .bitstream import vp8_frame_size
from .direct_receive import receive_directly
from .limits import DEFAULT_LIMITS, MediaLimits
from .studio_recorder import StudioRecorder
from .tap import EncodedFrame, ReceiverTap
from .timeline import Timeline

log = logging.getLogger(__name__)

MAX_CAPTURE = (3840, 2160)  # a page's claim above 4K is not believed
TIMESTAMP_MAP_SIZE = 512  # decoded frames come out soon after their encoded frame
DECODING_CHECK_S = 1.0  # how often the sinks are asked whether they want decoded media


class GuestMedia:
    def __init__(
        self,
        guest: str,
        on_recording_change: Callable[[], None] | None = None,
        limits: MediaLimits = DEFAULT_LIMITS,
    ) -> None:
        self.guest = guest
        self.limits = limits
        self.refusal: str | None = None  # why the guest's media was last refused
        self.on_recording_change = on_recording_change
        self.timeline = Timeline()
        self.taps: dict[str, ReceiverTap] = {}
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.sinks: list[GuestSink] = []
        self.recorder: StudioRecorder | None = None
        self.capture_size: tuple[int, int] | None = None  # the guest's camera, as reported
        self._last_recorder: StudioRecorder | None = None
        self._consumers: dict[str, asyncio.Task] = {}
        # aiortc's decoded frames carry its re-based timestamps; map them back to ours.
        self._timestamps: dict[str, OrderedDict[int, int]] = {}
        self._connected = False
        self._closed = False
        self._decoding_checked = float("-inf")
        self.decoded_frames = {"audio": 0, "video": 0}  # frames aiortc decoded for us
        self.delivery_errors = {"audio": 0, "video": 0}
        self.video_size: tuple[int, int] | None = None  # as last seen, for status displays

    # -- wiring ----------------------------------------------------------------------

    def attach(self, receiver: RTCRtpReceiver, track: MediaStreamTrack) -> bool:
        """Take the guest's audio or video track; False for any further track of a kind
        (one camera, one microphone per guest), which the caller must drain itself."""
        kind = track.kind
        if kind not in ("audio", "video") or kind in self.taps:
            return False
        self.timeline.add_stream(kind)
        self.taps[kind] = ReceiverTap(
            receiver, kind,
            on_frame=self._on_encoded,
            on_report=lambda ntp, rtp, kind=kind: self.timeline.on_report(kind, ntp, rtp),
            limits=self.limits, on_refused=self._on_refused,
        )
        receive_directly(receiver)  # after the tap: it wraps the jitter buffer the shortcut feeds
        self.tracks[kind] = track
        self._timestamps[kind] = OrderedDict()
        self._consumers[kind] = asyncio.ensure_future(self._consume(kind, track))
        self._update_decoding()
        return True

    def add_sink(self, sink: GuestSink) -> None:
        self.sinks.append(sink)
        if self._connected:
            self._call_sink(sink.on_connected)
        self._update_decoding()

    def _update_decoding(self) -> None:
        recorder = self.recorder if self.recorder is not None and self.recorder.active else None
        for kind, tap in self.taps.items():
            wanted = (any(sink_wants(sink, kind) for sink in self.sinks)
                      or (recorder is not None and kind in recorder.decoded_kinds))
            if wanted != tap.decode:
                tap.set_decode(wanted)

    # -- media -----------------------------------------------------------------------

    def _on_encoded(self, frame: EncodedFrame) -> None:
        if frame.arrival - self._decoding_checked >= DECODING_CHECK_S:
            # Sinks change their minds (somebody starts watching the return, or looking
            # at the control room): decoding follows within a second.
            self._decoding_checked = frame.arrival
            self._update_decoding()
        unwrapped = self.timeline.on_media(frame.kind, frame.raw_timestamp, frame.arrival)
        table = self._timestamps[frame.kind]
        table[frame.mapped_timestamp] = unwrapped
        while len(table) > TIMESTAMP_MAP_SIZE:
            table.popitem(last=False)
        if not self._connected:
            self._connected = True
            for sink in list(self.sinks):
                self._call_sink(sink.on_connected)
        if frame.kind == "video" and frame.keyframe and frame.codec == "vp8":
            self.video_size = vp8_frame_size(frame.data) or self.video_size
        if self.recorder is not None:
            self.recorder.feed_encoded(frame, unwrapped)

    def _unwrapped(self, kind: str, mapped: int | None) -> int | None:
        table = self._timestamps.get(kind)
        if mapped is None or not table:
            return None
        value = table.get(mapped)
        if value is None:
            # Not in the table (should not happen): the newest offset is the best guess.
            last_mapped, last_value = next(reversed(table.items()))
            value = last_value + (mapped - last_mapped)
        return value

    async def _consume(self, kind: str, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                if self.recorder is not None:
                    self.recorder.stream_ended(kind)
                return
            self.decoded_frames[kind] += 1
            recorder = self.recorder
            if recorder is not None and recorder.catching_up and kind in recorder.decoded_kinds:
                await recorder.wait_for_room(kind)  # the backlog is written, not dropped
            try:
                self._deliver(kind, frame)
            except Exception:  # keep draining the track: aiortc's queue has no bound
                self.delivery_errors[kind] += 1
                if self.delivery_errors[kind] == 1:  # once per kind, not once per frame
                    log.exception("guest %r: handling a decoded %s frame failed", self.guest, kind)

    def _deliver(self, kind: str, frame: Any) -> None:
        """One decoded frame to the sinks (OBS) and the recording."""
        unwrapped = self._unwrapped(kind, frame.pts)
        if unwrapped is None:
            return
        if kind == "video":
            self.video_size = (frame.width, frame.height)
        if self.sinks:
            t = self.timeline.seconds(kind, unwrapped)
            if t is not None:
                ns = int(t * 1e9)
                for sink in list(self.sinks):
                    if kind == "video":
                        self._call_sink(sink.on_video, frame, ns)
                    else:
                        self._call_sink(sink.on_audio, frame, ns)
        if self.recorder is not None:
            self.recorder.feed_decoded(kind, frame, unwrapped)

    @staticmethod
    def _call_sink(method: Callable, *args) -> None:
        try:
            method(*args)
        except Exception:  # a sink problem must not end the guest's media
            log.exception("guest sink failed")

    # -- recording -------------------------------------------------------------------

    def _copy_video_codec(self) -> str | None:
        tap = self.taps.get("video")
        if tap is None:
            return None
        if tap.codec:
            return tap.codec
        # Senders use the first codec of the negotiated list; that is the best guess
        # before any frame arrived. A wrong guess only costs a file name: the writer
        # then opens a file of the right container.
        codecs = getattr(tap.receiver, "_RTCRtpReceiver__codecs", {}) or {}
        for codec in codecs.values():
            name = codec.mimeType.split("/")[-1].lower()
            if name not in ("rtx", "red", "ulpfec"):
                return name
        return None  # unknown: Matroska holds any

    def set_capture_size(self, width: int, height: int) -> None:
        """The size the guest's camera captures (its page says so); bounded to 4K."""
        if not (16 <= width <= MAX_CAPTURE[0] and 16 <= height <= MAX_CAPTURE[1]):
            return
        self.capture_size = (int(width), int(height))
        if self.recorder is not None:
            self.recorder.writer.capture_size = self.capture_size

    def start_recording(
        self, plan: RecordPlan, out_dir: Path, split_minutes: float | None = None,
        take: dict | None = None,
    ) -> Path:
        """Start a recording; returns its (first) file. OSError if out_dir is unwritable.

        take: {"id", "part", "previous_file"} when this recording continues a take (the
        guest reconnected); it goes into every sidecar of the recording.

        A recording already running is left alone and its file returned.
        """
        if self.recorder is not None and self.recorder.active:
            return self.recorder.path
        # Before any track arrived, expect both: whatever does not come is waited for
        # a few seconds, then the file is made of what there is.
        nothing_yet = not self.taps
        recorder = StudioRecorder(
            guest=self.guest, plan=plan, out_dir=Path(out_dir), split_minutes=split_minutes,
            timeline=self.timeline, has_video=nothing_yet or "video" in self.taps,
            has_audio=nothing_yet or "audio" in self.taps,
            copy_video_codec=self._copy_video_codec(),
            request_keyframe=self.request_keyframe, on_event=self._on_recorder_event,
            guest_stats=self.stats, take=take,
        )
        self.recorder = recorder
        self._last_recorder = recorder
        recorder.writer.capture_size = self.capture_size
        recorder.start()
        self._update_decoding()
        self._changed()
        return recorder.path

    async def stop_recording(self) -> dict | None:
        recorder = self.recorder
        if recorder is None:
            return None
        decoding = [self._consumers[k] for k in recorder.decoded_kinds if k in self._consumers]
        try:
            # Still fed while it takes in the frames that arrived before the stop.
            return await recorder.stop(wait_for_decoders=any(not t.done() for t in decoding))
        finally:
            if self.recorder is recorder:
                self.recorder = None
            self._update_decoding()

    def recording_status(self) -> dict | None:
        """The recording's status; "refused" says why guest media was last refused."""
        recorder = self.recorder or self._last_recorder
        status = None if recorder is None else recorder.status()
        if self.refusal is not None:
            status = status or {"recording": False, "error": None}
            status["refused"] = self.refusal
        return status

    def _on_refused(self, reason: str) -> None:
        self.refusal = reason
        self._changed()

    def _on_recorder_event(self, event: str) -> None:
        if event in ("failed", "stopped"):
            self._update_decoding()
        self._changed()

    def _changed(self) -> None:
        if self.on_recording_change is not None:
            try:
                self.on_recording_change()
            except Exception:
                log.exception("recording change callback failed")

    def request_keyframe(self) -> None:
        tap = self.taps.get("video")
        if tap is not None:
            tap.request_keyframe()

    def counters(self) -> dict[str, int]:
        """Totals received so far, for live rates (core.live_stats)."""
        taps = list(self.taps.values())
        video = self.taps.get("video")
        return {
            "bytes": sum(t.bytes for t in taps),
            "packets": sum(t.packets for t in taps),
            "packets_lost": sum(t.packets_lost for t in taps),
            "video_frames": video.frames if video is not None else 0,
        }

    def stats(self) -> dict:
        """Reception statistics (thread-safe enough for a summary: plain reads)."""
        out: dict = {kind: tap.stats() for kind, tap in self.taps.items()}
        for kind, tap in self.taps.items():
            streams = getattr(tap.receiver, "_RTCRtpReceiver__remote_streams", {}) or {}
            lost = sum(s.packets_lost for s in list(streams.values()))
            if streams:
                out[kind]["packets_lost"] = lost
        out["timeline"] = self.timeline.summary()
        return out

    # -- ending ----------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.stop_recording()
        finally:
            for task in self._consumers.values():
                task.cancel()
            for task in self._consumers.values():
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - a consumer's failure was reported when it happened; closing goes on
                    pass
            self._consumers.clear()
            for sink in list(self.sinks):
                self._call_sink(sink.on_disconnected)
