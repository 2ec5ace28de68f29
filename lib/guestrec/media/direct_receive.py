"""Receiving SRTP media without a task switch per packet (aiortc 1.16, aioice 0.10+).

aiortc takes every datagram off the socket into a queue, and one task per connection
takes it out again: two queue operations, a task wake-up and four awaits per packet
before its receiver sees it. The receiver then, per packet, reads the time of day twice,
feeds a remote bitrate estimator and walks every packet its NACK tracker still misses.
For a studio those per-packet costs decide how many guests one core keeps in real time.

`DirectReceive` takes SRTP RTP packets where aioice hands them over
(`Connection.data_received`) and does the receiver's work right there: decrypt, parse,
route, statistics for receiver reports, RTX unwrap, NACKs, depayload, the jitter buffer
(which the tap wraps, as before) and the decoder queue. What aiortc does per packet is
kept, but for three things:
- the time of day for synchronisation sources is read once a second, not per packet;
- the NACK tracker drops packets too old to ask for every 16 packets, not per packet;
- the remote bitrate estimate (REMB) runs only for connections that want it: a browser
  or WHIP publisher sending to the studio adapts to it; Janus, when we subscribe to it,
  does not (it uses REMB only to cap publishers), so `without_bitrate_estimate` drops it.
Once media flows, the connection's sockets are read in batches (socket_reads.py).
RTCP, DTLS and STUN still take aiortc's own path. The RTCP the receiver sends (NACK, PLI,
REMB) is rare and goes out as a task, as aiortc would send it.

Anything unexpected (another aiortc, an error in the shortcut) puts the connection back on
aiortc's path for good and says so once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiortc import RTCRtpReceiver, clock
from aiortc.codecs import depayload, is_rtx
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, is_rtcp, pack_remb_fci, unwrap_rtx

from ..common.background import spawn
from ..webrtc.media_liveness import note_heard
from .socket_reads import read_in_batches

log = logging.getLogger(__name__)

_INSTALLED = "_guestrec_direct_receive"  # on the aioice connection: its DirectReceive
NTP_OFFSET_MS = 2208988800 * 1000  # NTP's epoch (1900) to the Unix epoch, as aiortc's clock counts
SOURCE_STAMP_S = 1.0  # how often a synchronisation source's "last seen" time is refreshed
NACK_TRIM_EVERY = 16  # packets between trims of the NACK tracker
RTP_HISTORY = 128  # as aiortc: the oldest packet still worth a NACK
_R = "_RTCRtpReceiver__"  # aiortc's private receiver attributes


def now_ms() -> int:
    """aiortc's clock.current_ms() (milliseconds since 1900), without building datetimes."""
    return int(time.time() * 1000) + NTP_OFFSET_MS


class NackTracker:
    """Which sequence numbers are missing, for NACKs (aiortc's NackGenerator, trimmed lazily)."""

    __slots__ = ("_since_trim", "max_seq", "missing")

    def __init__(self) -> None:
        self.max_seq: int | None = None
        self.missing: set[int] = set()
        self._since_trim = 0

    def add(self, seq: int) -> bool:
        """Note a packet; True when it revealed newly missing ones."""
        if self.max_seq is None:
            self.max_seq = seq
            return False
        ahead = (seq - self.max_seq) & 0xFFFF
        missed = False
        if 0 < ahead < 0x8000:
            if ahead > 1:
                missed = True
                for gap in range(max(1, ahead - RTP_HISTORY), ahead):
                    self.missing.add((self.max_seq + gap) & 0xFFFF)
            self.max_seq = seq
        elif self.missing:
            self.missing.discard(seq)
        self._since_trim += 1
        if self._since_trim >= NACK_TRIM_EVERY and self.missing:
            self._since_trim = 0
            oldest = (self.max_seq - RTP_HISTORY) & 0xFFFF
            self.missing = {s for s in self.missing if ((s - oldest) & 0xFFFF) < 0x8000}
        return missed


class ReceiverWork:
    """What aiortc's RTCRtpReceiver does with one RTP packet, done synchronously."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = receiver
        get = receiver.__dict__.__getitem__
        self._codecs: dict[int, Any] = get(_R + "codecs")
        self._remote_streams: dict[int, StreamStatistics] = get(_R + "remote_streams")
        self._rtx_ssrc: dict[int, int] = get(_R + "rtx_ssrc")
        self._active_ssrc: dict[int, Any] = get(_R + "active_ssrc")
        self._jitter = get(_R + "jitter_buffer")
        self._decoder_error = get(_R + "decoder_error")
        self._decoder_queue = get(_R + "decoder_queue")
        self._mapper = get(_R + "timestamp_mapper")
        self._nacks = NackTracker() if get(_R + "nack_generator") is not None else None
        self._video = get(_R + "kind") == "video"
        self._source_stamped: dict[int, float] = {}

    def handle(self, packet: RtpPacket) -> None:
        receiver = self.receiver
        if not receiver._enabled:
            return
        attrs = receiver.__dict__
        estimator = attrs[_R + "remote_bitrate_estimator"]
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(abs_send_time=packet.extensions.abs_send_time,
                                 arrival_time_ms=now_ms(),
                                 payload_size=len(packet.payload) + packet.padding_size, ssrc=packet.ssrc)
            rtcp_ssrc = attrs[_R + "rtcp_ssrc"]
            if rtcp_ssrc is not None and remb is not None:
                self._send(receiver._send_rtcp(RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb))))
        now = time.monotonic()
        if now - self._source_stamped.get(packet.ssrc, 0.0) >= SOURCE_STAMP_S:
            self._source_stamped[packet.ssrc] = now
            self._active_ssrc[packet.ssrc] = clock.current_datetime()
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        stats = self._remote_streams.get(packet.ssrc)
        if stats is None:
            stats = self._remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        if is_rtx(codec):
            original = self._rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original is None or len(packet.payload) < 2 or not isinstance(apt, int):
                return
            if apt not in self._codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original)
            codec = self._codecs[apt]
        if self._nacks is not None and self._nacks.add(packet.sequence_number):
            self._send(receiver._send_rtcp_nack(packet.ssrc, sorted(self._nacks.missing)))
        try:
            packet._data = depayload(codec, packet.payload) if packet.payload else b""  # type: ignore[attr-defined]
        except ValueError:
            return  # a payload aiortc cannot parse: dropped, as aiortc drops it
        pli, frame = self._jitter.add(packet)
        if self._decoder_error.is_set():
            self._decoder_error.clear()
            pli = pli or self._video
        if pli:
            self._send(receiver._send_rtcp_pli(packet.ssrc))
        if frame is not None and attrs[_R + "decoder_thread"]:
            frame.timestamp = self._mapper.map(frame.timestamp)
            self._decoder_queue.put((codec, frame))

    @staticmethod
    def _send(work: Any) -> None:
        spawn(work, "sending RTCP feedback")


class DirectReceive:
    """Installed on one DTLS transport's ICE connection; see the module notes."""

    def __init__(self, dtls: Any, connection: Any) -> None:
        self.dtls = dtls
        self.connection = connection
        self._workers: dict[int, ReceiverWork] = {}
        self.packets = 0  # handled here rather than on aiortc's path
        connection.data_received = self._data_received
        connection.__dict__[_INSTALLED] = self

    def _data_received(self, data: bytes, component: int) -> None:
        srtp = self.dtls._rx_srtp
        if srtp is None or not 127 < data[0] < 192 or is_rtcp(data):
            # aioice's own handling (with the liveness count), for everything else.
            type(self.connection).data_received(self.connection, data, component)
            return
        try:
            self._take(srtp, data)
        except Exception:  # never lose the connection to a bug here
            log.exception("receiving media directly failed; this connection goes back to aiortc's path")
            self.uninstall()

    def _take(self, srtp: Any, data: bytes) -> None:
        if not self.packets:  # media flows: the sockets exist and are read in batches from now on
            for protocol in list(getattr(self.connection, "_protocols", [])):
                read_in_batches(protocol)
        note_heard(self.connection)
        dtls = self.dtls.__dict__
        dtls["_RTCDtlsTransport__rx_bytes"] += len(data)
        dtls["_RTCDtlsTransport__rx_packets"] += 1
        try:
            data = srtp.unprotect(data)
            packet = RtpPacket.parse(data, self.dtls._rtp_header_extensions_map)
        except Exception:  # noqa: BLE001 - pylibsrtp.Error or ValueError: dropped, as aiortc drops it
            return
        receiver = self.dtls._rtp_router.route_rtp(packet)
        if receiver is None:
            return
        wrapped = receiver.__dict__.get("_handle_rtp_packet")
        if wrapped is not None:
            # Someone wraps this receiver's packet handler (a test's network, say): it
            # gets every packet, in order, as on aiortc's path.
            spawn(wrapped(packet, arrival_time_ms=now_ms()), "handling an RTP packet")
            return
        worker = self._workers.get(id(receiver))
        if worker is None or worker.receiver is not receiver:
            worker = self._workers[id(receiver)] = ReceiverWork(receiver)
        self.packets += 1
        worker.handle(packet)

    def uninstall(self) -> None:
        self.connection.__dict__.pop("data_received", None)
        self.connection.__dict__.pop(_INSTALLED, None)


def receive_directly(receiver: RTCRtpReceiver) -> DirectReceive | None:
    """Take the media of the receiver's connection the direct way (once per connection);
    None, and logged once, when this aiortc does not look like 1.16."""
    dtls = receiver.transport
    connection = getattr(getattr(dtls, "transport", None), "_connection", None)
    if connection is None:
        return None
    installed = connection.__dict__.get(_INSTALLED)
    if installed is not None:
        return installed
    if not _fits(receiver, dtls, connection):
        return None
    return DirectReceive(dtls, connection)


def without_bitrate_estimate(pc: Any) -> None:
    """No REMB from this connection's receivers (a Janus subscription: Janus ignores it)."""
    for transceiver in pc.getTransceivers():
        transceiver.receiver.__dict__[_R + "remote_bitrate_estimator"] = None


_warned = False


def _fits(receiver: Any, dtls: Any, connection: Any) -> bool:
    global _warned
    needed = [_R + name for name in ("codecs", "remote_streams", "rtx_ssrc", "active_ssrc", "jitter_buffer",
                                     "decoder_error", "decoder_queue", "timestamp_mapper", "nack_generator",
                                     "kind", "remote_bitrate_estimator", "rtcp_ssrc", "decoder_thread")]
    transport = ("_RTCDtlsTransport__rx_bytes", "_RTCDtlsTransport__rx_packets", "_rx_srtp", "_rtp_router",
                 "_rtp_header_extensions_map")
    fits = (all(name in receiver.__dict__ for name in needed)
            and all(name in dtls.__dict__ for name in transport)
            and callable(getattr(type(connection), "data_received", None)))
    if not fits and not _warned:
        _warned = True
        log.warning("this aiortc differs from the one expected (1.16): media is received the slower way")
    return fits
