"""Instrumenting an aiortc RTCRtpReceiver (aiortc 1.16): see encoded frames and RTCP.

aiortc gives no public hook between its jitter buffer and its decoder thread, so three
private pieces of the receiver are wrapped, on the instance only:

- the jitter buffer's `add`: which RTP packets (sequence numbers, marker, arrival) make up
  each frame, so a frame with a hole in it (lost packets the buffer gave up on) is known;
- the decoder queue's `put`: every complete encoded frame passes here on its way to the
  decoder thread; we see it first and decide whether it is decoded at all (headless copy
  recording needs no decoding);
- `_handle_rtcp_packet`: RTCP sender reports, for the audio/video timeline.

All three run on the asyncio loop (aiortc calls them from its RTP/RTCP handlers).

One repair to aiortc's behaviour: its video jitter buffer waits for a missing packet until
512 packets later (seconds of frozen video at moderate bitrates) when retransmission fails.
If a hole at the head of the buffer outlives HOLE_SECONDS, the broken frame is skipped and a
keyframe asked for; frames after a hole are marked broken, so neither the decoder nor a copy
recording gets them.

Guests are not trusted: a frame that declares a picture size beyond `MediaLimits`, or that
comes faster than its rate limit, is refused here, before aiortc's decoder or a recording
sees it; video then waits for an acceptable key frame. Each refusal reason is logged once
per receiver and counted, so a hostile stream costs a bounded amount of log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.rtp import RtcpSrPacket

from .bitstream import h264_is_keyframe, vp8_is_keyframe
from .limits import DEFAULT_LIMITS, MediaLimits, declared_size
from .log_bound import bound_noisy_loggers

log = logging.getLogger(__name__)

PLI_MIN_INTERVAL = 0.25  # seconds between keyframe requests
HOLE_SECONDS = 1.0  # how long a missing packet may hold up the video (NACKs had their chance)
HOLE_CHECK_EVERY = 0.05  # seconds between looks for such a hole


@dataclass
class EncodedFrame:
    kind: str  # "audio" | "video"
    codec: str  # "vp8" | "h264" | "opus" | ...
    data: bytes
    raw_timestamp: int  # RTP timestamp as sent
    mapped_timestamp: int  # after aiortc's TimestampMapper (what decoded frames carry)
    arrival: float  # time.monotonic() of the frame's first packet
    intact: bool  # every packet present, following on from the previous frame
    keyframe: bool


class _PacketLog:
    """Per RTP timestamp: the sequence numbers seen, marker, first arrival."""

    __slots__ = ("arrival", "marker", "seqs")

    def __init__(self, arrival: float) -> None:
        self.seqs: set[int] = set()
        self.marker = False
        self.arrival = arrival


def _seq_order(seqs: set[int]) -> list[int]:
    """A frame's RTP sequence numbers in sending order, across the 16-bit wrap.

    A frame spans far fewer than 32768 packets, so the signed distance from any one of
    them orders them all: 65534, 65535, 0, 1 stay in that order.
    """
    ref = next(iter(seqs))
    return sorted(seqs, key=lambda s: ((s - ref + 0x8000) & 0xFFFF))


def _seq_add(a: int, b: int) -> int:
    return (a + b) & 0xFFFF


class ReceiverTap:
    """Wraps one receiver. `on_frame(EncodedFrame)` and `on_report(ntp, rtp)` are callbacks."""

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        kind: str,
        on_frame: Callable[[EncodedFrame], None],
        on_report: Callable[[int, int], None],
        clock: Callable[[], float] = time.monotonic,
        limits: MediaLimits = DEFAULT_LIMITS,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        bound_noisy_loggers()
        self.receiver = receiver
        self.limits = limits
        self.on_refused = on_refused
        self.refused_frames = 0
        self.refusal: str | None = None  # the latest reason a frame was refused
        self._refusals_logged: set[str] = set()
        self._refusing_video = False  # until an acceptable key frame
        self._rate_window = (0, 0)  # (whole second, frames in it)
        self.kind = kind
        self.on_frame = on_frame
        self.on_report = on_report
        self.clock = clock
        self.decode = False  # forward frames to aiortc's decoder thread
        self._decode_waits_for_key = kind == "video"
        self._packets: OrderedDict[int, _PacketLog] = OrderedDict()
        self._last_seq: int | None = None  # last sequence number of the last emitted frame
        self._after_hole = False
        self._filler: set[int] = set()  # empty (padding) packets, not part of any frame
        self.ssrc: int | None = None
        self._last_pli = 0.0
        self._pli_tasks: set[asyncio.Task] = set()
        self._last_seq_seen: int | None = None
        # statistics
        self.packets = 0
        self.bytes = 0  # RTP payload bytes, for the live bitrate
        self.packets_lost = 0
        self.frames = 0
        self.broken_frames = 0
        self.keyframe_requests = 0
        self.reports = 0
        self.codec: str | None = None

        jitter = receiver._RTCRtpReceiver__jitter_buffer
        queue = receiver._RTCRtpReceiver__decoder_queue
        self._jitter = jitter
        self._hole_since: tuple[int, float] | None = None  # (origin, first seen)
        self._hole_checked = float("-inf")
        self.holes_skipped = 0
        self._jitter_add = jitter.add
        self._queue_put = queue.put
        self._handle_rtcp = receiver._handle_rtcp_packet
        jitter.add = self._on_jitter_add
        queue.put = self._on_decoder_put
        receiver._handle_rtcp_packet = self._on_rtcp  # type: ignore[method-assign]

    # -- RTP side --------------------------------------------------------------------

    def _on_jitter_add(self, packet: Any) -> tuple[bool, Any]:
        now = self.clock()
        self.ssrc = packet.ssrc
        self.packets += 1
        self.bytes += len(getattr(packet, "payload", b"") or b"")
        seq = packet.sequence_number
        if self._last_seq_seen is not None:
            gap = (seq - self._last_seq_seen) & 0xFFFF
            if 1 < gap < 0x8000:
                self.packets_lost += gap - 1  # corrected below if the packet shows up late
            elif gap >= 0x8000:
                self.packets_lost = max(0, self.packets_lost - 1)  # a late (re)transmission
        if self._last_seq_seen is None or 0 < ((seq - self._last_seq_seen) & 0xFFFF) < 0x8000:
            self._last_seq_seen = seq
        if not getattr(packet, "_data", b""):
            self._filler.add(seq)
            if len(self._filler) > 256:
                self._filler.clear()
        else:
            entry = self._packets.get(packet.timestamp)
            if entry is None:
                entry = self._packets[packet.timestamp] = _PacketLog(now)
                if len(self._packets) > 1024:  # never grows without bound
                    self._packets.popitem(last=False)
            entry.seqs.add(seq)
            entry.marker = entry.marker or bool(packet.marker)

        pli, frame = self._jitter_add(packet)
        if frame is not None:
            self._hole_since = None
            self._describe(frame)
        elif self.kind == "video" and now - self._hole_checked >= HOLE_CHECK_EVERY:
            self._hole_checked = now  # a scan per packet would cost more than the rest of it
            self._check_hole(now, seq)
        return pli, frame

    def _check_hole(self, now: float, newest: int) -> None:
        """Skip a frame whose missing packet never comes (see the module notes)."""
        jitter = self._jitter
        origin = getattr(jitter, "_origin", None)
        packets = getattr(jitter, "_packets", None)
        if origin is None or packets is None:
            return
        capacity = len(packets)
        span = min((newest - origin) & 0xFFFF, capacity - 1)
        hole = next((i for i in range(span) if packets[(origin + i) % capacity] is None), None)
        if hole is None:
            self._hole_since = None
            return
        hole_seq = (origin + hole) & 0xFFFF
        if self._hole_since is None or self._hole_since[0] != hole_seq:
            self._hole_since = (hole_seq, now)
            return
        if now - self._hole_since[1] < HOLE_SECONDS:
            return
        after = next(
            (i for i in range(hole + 1, span + 1) if packets[(origin + i) % capacity]), None
        )
        if after is None:
            return
        # Removes everything up to the hole, then the rest of the frame that lost a packet.
        jitter.smart_remove(after + 1)
        self._hole_since = None
        self.holes_skipped += 1
        self._after_hole = True  # the next frame cannot follow on: it is marked broken
        self.request_keyframe(force=True)

    def _describe(self, frame: Any) -> None:
        """Mark a frame leaving the jitter buffer: intact or not, arrival time."""
        entry = None
        while self._packets:
            ts, log_entry = self._packets.popitem(last=False)
            if ts == frame.timestamp:
                entry = log_entry
                break
        intact = False
        arrival = self.clock()
        if entry is not None and entry.seqs:
            arrival = entry.arrival
            seqs = _seq_order(entry.seqs)
            first, last = seqs[0], seqs[-1]
            contiguous = ((last - first) & 0xFFFF) + 1 == len(seqs)
            follows = True
            if self._last_seq is not None:
                expected = _seq_add(self._last_seq, 1)
                while expected in self._filler and expected != first:
                    expected = _seq_add(expected, 1)
                follows = expected == first
            intact = contiguous and follows and (entry.marker or self.kind == "audio")
            if self._after_hole:
                intact, self._after_hole = False, False
            self._last_seq = last
        frame.gr_raw_timestamp = frame.timestamp
        frame.gr_arrival = arrival
        frame.gr_intact = intact or self.kind == "audio"

    def _on_decoder_put(self, item: Any, *args: Any, **kwargs: Any) -> None:
        if item is None:  # the receiver is stopping: let the decoder thread end
            self._queue_put(item, *args, **kwargs)
            return
        codec, frame = item
        name = codec.mimeType.split("/")[-1].lower()
        self.codec = name
        data = bytes(frame.data)
        if self.kind == "video":
            keyframe = (
                vp8_is_keyframe(data) if name == "vp8"
                else h264_is_keyframe(data) if name == "h264" else False
            )
        else:
            keyframe = True
        if self._refuse(name, data, keyframe):
            if self.kind == "video":
                self._decode_waits_for_key = True
            return
        intact = getattr(frame, "gr_intact", True)
        self.frames += 1
        if not intact:
            self.broken_frames += 1
        encoded = EncodedFrame(
            kind=self.kind, codec=name, data=data,
            raw_timestamp=getattr(frame, "gr_raw_timestamp", frame.timestamp),
            mapped_timestamp=frame.timestamp,
            arrival=getattr(frame, "gr_arrival", self.clock()),
            intact=intact, keyframe=keyframe,
        )
        try:
            self.on_frame(encoded)
        except Exception:  # a recording problem must never break reception
            log.exception("frame callback failed")
        if self.decode:
            if not intact and self.kind == "video":
                self._decode_waits_for_key = True  # a broken picture would smear until then
            if self._decode_waits_for_key:
                if not keyframe:
                    self.request_keyframe()
                    return
                self._decode_waits_for_key = False
            self._queue_put(item, *args, **kwargs)
        elif self.kind == "video":
            self._decode_waits_for_key = True

    def _refuse(self, codec: str, data: bytes, keyframe: bool) -> bool:
        """True when this frame must go nowhere: beyond the limits, or until video
        starts again at an acceptable key frame."""
        second = int(self.clock())
        start, count = self._rate_window
        count = count + 1 if start == second else 1
        self._rate_window = (second, count)
        limit = self.limits.rate_limit(self.kind)
        problem = None
        if count > limit:
            problem = f"more than {limit:.0f} {self.kind} frames per second"
        elif self.kind == "video":
            size = declared_size(codec, data)
            if size is not None:
                problem = self.limits.size_problem(*size)
        if problem is None and self._refusing_video:
            if not keyframe:
                self.refused_frames += 1
                self.request_keyframe()
                return True
            self._refusing_video = False
            log.debug("%s frames accepted again (key frame within the limits)", self.kind)
        if problem is None:
            return False
        self.refused_frames += 1
        self.refusal = problem
        if self.kind == "video":
            self._refusing_video = True
            self.request_keyframe()
        if problem not in self._refusals_logged and len(self._refusals_logged) < 8:
            self._refusals_logged.add(problem)
            log.warning("refused a guest's %s frame: %s", self.kind, problem)
            if self.on_refused is not None:
                try:
                    self.on_refused(problem)
                except Exception:
                    log.exception("refusal callback failed")
        return True

    def set_decode(self, on: bool) -> None:
        """Feed aiortc's decoder or not; when turned on, video starts at a keyframe."""
        if on and not self.decode and self.kind == "video":
            self._decode_waits_for_key = True
            self.request_keyframe()
        self.decode = on

    # -- RTCP side -------------------------------------------------------------------

    async def _on_rtcp(self, packet: Any) -> None:
        info = getattr(packet, "sender_info", None)
        # A sender that has sent nothing yet reports zeros (aiortc does): no mapping in that.
        if isinstance(packet, RtcpSrPacket) and info.packet_count and info.ntp_timestamp:
            self.reports += 1
            try:
                self.on_report(packet.sender_info.ntp_timestamp, packet.sender_info.rtp_timestamp)
            except Exception:
                log.exception("sender report callback failed")
        await self._handle_rtcp(packet)

    def request_keyframe(self, force: bool = False) -> bool:
        """Send a PLI to the guest (rate limited); False if nothing could be sent yet."""
        if self.kind != "video" or self.ssrc is None:
            return False
        now = self.clock()
        if not force and now - self._last_pli < PLI_MIN_INTERVAL:
            return True
        self._last_pli = now
        self.keyframe_requests += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        # Held until sent: the loop keeps only a weak reference to a task.
        task = loop.create_task(self.receiver._send_rtcp_pli(self.ssrc))
        self._pli_tasks.add(task)
        task.add_done_callback(self._pli_tasks.discard)
        return True

    def stats(self) -> dict:
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "packets_lost": self.packets_lost,
            "frames": self.frames,
            "broken_frames": self.broken_frames,
            "holes_skipped": self.holes_skipped,
            "keyframe_requests": self.keyframe_requests,
            "sender_reports": self.reports,
            "codec": self.codec,
            "refused_frames": self.refused_frames,
            "refusal": self.refusal,
        }
