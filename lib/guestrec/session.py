"""The session layer: one aiortc peer connection per guest, its recording and its status.

`GuestSessions` implements `interfaces.SessionHost` for the WHIP endpoint. For each offer it
checks the SDP, makes a peer connection (no STUN: loopback and LAN use), waits for ICE
gathering (WHIP gets no trickle from us), tunes the answer to the record plan and hands the
guest's tracks to a `media.GuestMedia`, which records them and feeds the OBS sink.

A guest that hangs up (DELETE), whose connection fails or closes, or that never connects
is finished: its recording is finalized, its sink told, its session removed.

The guest page opens a data channel labelled "guestrec"; the server tells the guest on it
whether it is being recorded (`{"type": "recording", ...}`) and about failures
(`{"type": "error", ...}`). Guests without a data channel (FFmpeg) work as well.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole

from . import sdp
from .interfaces import GuestSink, OfferRejected, SessionAnswer
from .names import display_name
from .plan import RecordPlan

from .media import GuestMedia

log = logging.getLogger(__name__)

CHANNEL_LABEL = "guestrec"
MAX_GUESTS = 16
# A guest that has not connected by then is given up (ICE or DTLS never completed).
CONNECT_TIMEOUT_S = 30.0
ENDED_SESSIONS_KEPT = 256  # ids of ended sessions remembered for a late DELETE
# FFmpeg's WHIP muxer signs its offers this way; used only to explain failures better.
_FFMPEG_MARKERS = ("o=FFmpeg ", "s=FFmpegPublishSession")
# Why an FFmpeg guest's DTLS fails against us, and what the publisher can do about it.
# FFmpeg's WHIP muxer offers a=setup:passive, so it is the DTLS server and aiortc the
# client. FFmpeg builds on GnuTLS (PyAV's wheels among them) make their DTLS certificate
# from gnutls_sec_param_to_pk_bits(ECDSA, MEDIUM) = 224 bits, i.e. a P-224 (secp224r1)
# key. For TLS 1.2 OpenSSL checks the server certificate's curve against the groups it
# offered (X25519, P-256, X448, P-384, P-521); the OpenSSL 4 bundled with `cryptography`
# no longer knows P-224 as a TLS group at all (SSL_CTX_set1_groups_list refuses it), so
# it answers the ServerKeyExchange with a fatal illegal_parameter alert (47): FFmpeg logs
# "A TLS fatal alert has been received" and "DTLS session failed". Cipher suites, SRTP
# profiles, fingerprints and DTLS versions all match; only the curve is at fault.
# Nothing on the server can bring the curve back, and answering as DTLS server instead
# would break RFC 8842 and still fail on the client certificate's curve. What works is a
# P-256 identity given to FFmpeg (whip muxer options cert_file/key_file, see
# certs.ensure_dtls_identity); we name that in the guest's error.
# (FFmpeg also drops our first ClientHello, sent before it has read its STUN reply; the
# DTLS retransmission one second later gets through, so joining takes ~1 s longer.)
FFMPEG_DTLS_HINT = (
    "DTLS handshake failed. FFmpeg builds that use GnuTLS make a P-224 DTLS certificate "
    "that this server's OpenSSL cannot accept; give FFmpeg a P-256 certificate with the "
    "whip muxer options cert_file and key_file"
)


@dataclass
class SessionConfig:
    """Settings read on every new offer, so changes apply to the next guest."""

    plan: RecordPlan
    out_dir: Path
    auto_record: bool = True  # start recording as soon as the guest's media flows
    split_minutes: int | None = None


@dataclass
class _Guest:
    name: str
    session_id: str
    pc: RTCPeerConnection
    config: SessionConfig
    client: str  # "ffmpeg" or "webrtc"
    created: float = field(default_factory=time.time)
    media: Any = None  # GuestMedia once attached
    sink: GuestSink | None = None
    channel: Any = None  # RTCDataChannel
    blackhole: MediaBlackhole | None = None
    kinds: list[str] = field(default_factory=list)
    connected_once: bool = False
    error: str | None = None
    finishing: asyncio.Task | None = None
    last_sent: str | None = None
    last_error: str | None = None
    watchdog: asyncio.Task | None = None


def _call_quietly(what: str, fn: Callable[[], Any]) -> None:
    """Call a sink or listener; their failures must not break a session."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - a third party's bug is logged, not spread
        log.exception("%s failed", what)


class GuestSessions:
    """Every guest's peer connection and recording. Implements `SessionHost`."""

    def __init__(
        self,
        config: Callable[[], SessionConfig],
        sink_factory: Callable[[str], GuestSink | None] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._sink_factory = sink_factory
        self._on_change = on_change
        self._guests: dict[str, _Guest] = {}
        self._reserved: set[str] = set()  # names of offers still being answered
        # Sessions that ended on their own (connection closed or failed): a client's DELETE
        # that comes just after still finds them, instead of a puzzling 404.
        self._ended: OrderedDict[str, None] = OrderedDict()

    # -- naming ---------------------------------------------------------------

    def _taken(self) -> set[str]:
        return {g.name.casefold() for g in self._guests.values()} | {
            n.casefold() for n in self._reserved
        }

    def _unique_name(self, requested: str) -> str:
        """The guest's display name, with " 2", " 3"... when another guest has it."""
        base = display_name(requested)
        taken = self._taken()
        if base.casefold() not in taken:
            return base
        number = 2
        while f"{base} {number}".casefold() in taken:
            number += 1
        return f"{base} {number}"

    # -- SessionHost ----------------------------------------------------------

    async def open_session(self, guest: str, offer_sdp: str) -> SessionAnswer:
        try:
            sdp.parse_media(offer_sdp)
        except sdp.SdpError as exc:
            raise OfferRejected(str(exc), 400) from None
        problem = sdp.offer_problem(offer_sdp)
        if problem:
            raise OfferRejected(problem, 422)
        if len(self._guests) + len(self._reserved) >= MAX_GUESTS:
            raise OfferRejected(f"too many guests (at most {MAX_GUESTS})", 503)

        # A copy: this guest keeps the settings it joined with even if the caller
        # changes its config object in place later.
        try:
            config = dataclasses.replace(self._config())
        except Exception as exc:  # noqa: BLE001 - e.g. a record value the plan refuses
            log.error("cannot take guests with the current settings: %s", exc)
            raise OfferRejected(f"the studio's record settings are invalid: {exc}", 503) from None
        name = self._unique_name(guest)
        self._reserved.add(name)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        client = "ffmpeg" if any(m in offer_sdp for m in _FFMPEG_MARKERS) else "webrtc"
        entry = _Guest(
            name=name, session_id=secrets.token_urlsafe(16), pc=pc, config=config, client=client
        )
        try:
            self._wire(entry)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                await pc.setLocalDescription(await pc.createAnswer())  # gathers ICE fully
            except Exception as exc:  # noqa: BLE001 - aiortc raises many kinds on odd SDP
                raise OfferRejected(f"cannot use this offer: {exc}", 400) from None
            answer = sdp.tune_answer(pc.localDescription.sdp, config.plan)
        except BaseException:
            self._reserved.discard(name)
            await self._release(entry)
            raise
        self._reserved.discard(name)
        self._guests[entry.session_id] = entry
        entry.watchdog = asyncio.ensure_future(self._connect_watchdog(entry))
        log.info("guest %r joined (%s, %s)", name, client, ", ".join(entry.kinds) or "no media")
        self._changed()
        return SessionAnswer(session_id=entry.session_id, answer_sdp=answer, guest=name)

    async def close_session(self, session_id: str) -> bool:
        entry = self._guests.get(session_id)
        if entry is None:
            if session_id in self._ended:
                del self._ended[session_id]  # one DELETE ends a session, as for a live one
                return True
            return False
        await self._finish(entry, "hung up")
        self._ended.pop(session_id, None)
        return True

    def guest_statuses(self) -> list[dict[str, Any]]:
        return [self._status(g) for g in sorted(self._guests.values(), key=lambda g: g.created)]

    async def start_recording(self, guest: str | None = None) -> list[str]:
        started = []
        for entry in self._select(guest):
            if entry.pc.connectionState == "connected" and self._start(entry):
                started.append(entry.name)
        return started

    async def stop_recording(self, guest: str | None = None) -> list[str]:
        stopped = []
        for entry in self._select(guest):
            if entry.media is not None and self._recording(entry):
                try:
                    await entry.media.stop_recording()
                except Exception as exc:  # noqa: BLE001 - report, keep the guest
                    log.exception("stopping %r's recording failed", entry.name)
                    entry.error = f"stopping the recording failed: {exc}"
                stopped.append(entry.name)
                self._send_status(entry)
        if stopped:
            self._changed()
        return stopped

    async def close_all(self) -> None:
        await asyncio.gather(
            *(self._finish(g, "server stopped") for g in list(self._guests.values())),
            return_exceptions=True,
        )

    # -- peer connection events ----------------------------------------------

    def _wire(self, entry: _Guest) -> None:
        pc = entry.pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            entry.kinds.append(track.kind)
            receiver = next(
                (t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None
            )
            try:
                media = self._media(entry)
                if media is not None and receiver is not None and media.attach(receiver, track):
                    return
                log.info("guest %r: extra %s track ignored", entry.name, track.kind)
            except Exception as exc:  # noqa: BLE001 - the guest stays, unrecorded
                log.exception("guest %r: the media pipeline refused its %s", entry.name, track.kind)
                entry.error = f"media pipeline failed: {exc}"
            # Nobody reads the track otherwise, and aiortc would queue its frames forever.
            if entry.blackhole is None:
                entry.blackhole = MediaBlackhole()
            entry.blackhole.addTrack(track)

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            if channel.label != CHANNEL_LABEL:
                return
            entry.channel = channel

            @channel.on("message")
            def on_message(message: Any) -> None:
                # The page may ask again, e.g. after it reconnects its UI.
                entry.last_sent = None
                self._send_status(entry)

            self._send_status(entry, force=True)
            if entry.error:  # e.g. the recording failed before the channel was open
                self._send_error(entry, entry.error)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            log.info("guest %r connection %s", entry.name, state)
            if state == "connected" and not entry.connected_once:
                entry.connected_once = True
                self._attach_sink(entry)
                if entry.blackhole is not None:
                    await entry.blackhole.start()
                if entry.config.auto_record:
                    self._start(entry)
                self._send_status(entry)
            elif state == "failed":
                entry.error = entry.error or self._failure_reason(entry)
                self._schedule_finish(entry, "connection failed")
            elif state == "closed":
                self._schedule_finish(entry, "connection closed")
            self._changed()

    def _media(self, entry: _Guest) -> Any:
        """The guest's GuestMedia, made on first use (it needs the loop)."""
        if entry.media is None:
            entry.media = GuestMedia(entry.name, on_recording_change=lambda: self._media_changed(entry))
        return entry.media

    def _attach_sink(self, entry: _Guest) -> None:
        """Give a connected guest its sink (in OBS: its source). Not at offer time: a guest
        whose connection never comes up must not leave an empty source behind."""
        if self._sink_factory is None or entry.media is None or entry.sink is not None:
            return
        try:
            entry.sink = self._sink_factory(entry.name)
        except Exception:  # noqa: BLE001
            log.exception("making the sink for %r failed", entry.name)
        if entry.sink is not None:
            entry.media.add_sink(entry.sink)

    def _media_changed(self, entry: _Guest) -> None:
        status = entry.media.recording_status() if entry.media is not None else None
        if status and status.get("error"):
            entry.error = str(status["error"])
        self._send_status(entry)
        self._changed()

    def _failure_reason(self, entry: _Guest) -> str:
        ice_ok = dtls_failed = False
        for transceiver in entry.pc.getTransceivers():
            dtls = transceiver.receiver.transport
            if dtls is None:
                continue
            dtls_failed = dtls_failed or dtls.state == "failed"
            ice_ok = ice_ok or dtls.transport.state in ("completed", "connected")
        if dtls_failed and ice_ok:
            return FFMPEG_DTLS_HINT if entry.client == "ffmpeg" else "DTLS handshake failed"
        return "the connection failed (ICE)"

    async def _connect_watchdog(self, entry: _Guest) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        entry.watchdog = None  # finishing must not cancel the task that asks for it
        if not entry.connected_once and entry.session_id in self._guests:
            entry.error = entry.error or f"did not connect within {CONNECT_TIMEOUT_S:.0f} s"
            await self._finish(entry, "never connected")

    # -- recording ------------------------------------------------------------

    def _recording(self, entry: _Guest) -> bool:
        status = entry.media.recording_status() if entry.media is not None else None
        return bool(status and status.get("recording"))

    def _start(self, entry: _Guest) -> bool:
        """Start the guest's recording; False when it cannot or already records."""
        if entry.media is None:
            return False
        if self._recording(entry):
            return False
        current = self._config()
        try:
            # The plan stays the one this guest negotiated; folder and split may have moved.
            path = entry.media.start_recording(
                entry.config.plan, Path(current.out_dir), current.split_minutes
            )
        except OSError as exc:
            entry.error = f"cannot write the recording: {exc.strerror or exc}"
            log.error("guest %r: %s", entry.name, entry.error)
            self._send_error(entry, entry.error)
            self._changed()
            return False
        except Exception as exc:  # noqa: BLE001 - one guest's trouble stays its own
            entry.error = f"recording failed to start: {exc}"
            log.exception("guest %r: recording failed to start", entry.name)
            self._send_error(entry, entry.error)
            self._changed()
            return False
        entry.error = None
        log.info("guest %r recording to %s", entry.name, path)
        self._send_status(entry)
        self._changed()
        return True

    # -- data channel ---------------------------------------------------------

    def _send(self, entry: _Guest, message: dict[str, Any]) -> bool:
        channel = entry.channel
        if channel is None or channel.readyState != "open":
            return False
        try:
            channel.send(json.dumps(message))
        except Exception:  # noqa: BLE001 - a closing channel is not an error worth more
            log.debug("sending to %r failed", entry.name, exc_info=True)
            return False
        return True

    def _send_status(self, entry: _Guest, force: bool = False) -> None:
        status = entry.media.recording_status() if entry.media is not None else None
        recording = bool(status and status.get("recording"))
        path = status.get("path") if status else None
        message = {
            "type": "recording",
            "recording": recording,
            "file": Path(path).name if (recording and path) else None,
            "guest": entry.name,
        }
        text = json.dumps(message, sort_keys=True)
        if not force and text == entry.last_sent:
            return
        if self._send(entry, message):
            entry.last_sent = text
        error = (status or {}).get("error")
        if error and error != entry.last_error:
            entry.last_error = error
            self._send_error(entry, f"recording failed: {error}")

    def _send_error(self, entry: _Guest, text: str) -> None:
        self._send(entry, {"type": "error", "message": text})

    # -- finishing ------------------------------------------------------------

    def _schedule_finish(self, entry: _Guest, reason: str) -> None:
        if entry.finishing is None and entry.session_id in self._guests:
            asyncio.ensure_future(self._finish(entry, reason))

    async def _finish(self, entry: _Guest, reason: str) -> None:
        """Finalize the recording, tell the sink, close the connection; once per guest."""
        if entry.finishing is None:
            entry.finishing = asyncio.ensure_future(self._do_finish(entry, reason))
        await asyncio.shield(entry.finishing)

    async def _do_finish(self, entry: _Guest, reason: str) -> None:
        if entry.error:
            log.warning("guest %r leaves: %s: %s", entry.name, reason, entry.error)
        else:
            log.info("guest %r leaves: %s", entry.name, reason)
        if entry.watchdog is not None:
            entry.watchdog.cancel()
        try:
            await self._release(entry)
        finally:
            self._guests.pop(entry.session_id, None)
            self._ended[entry.session_id] = None
            while len(self._ended) > ENDED_SESSIONS_KEPT:
                self._ended.popitem(last=False)
            self._changed()

    async def _release(self, entry: _Guest) -> None:
        # Stop receiving first, then finalize what arrived. GuestMedia.close() also tells
        # the sink (on_disconnected), as it told it on_connected at the first frame.
        try:
            await entry.pc.close()
        except Exception:  # noqa: BLE001
            log.exception("closing %r's peer connection failed", entry.name)
        finally:
            # Also when a shutdown out of time cancels us mid-close: the recording must
            # still be finalized and its writer thread ended.
            if entry.media is not None:
                try:
                    await entry.media.close()
                except Exception:  # noqa: BLE001
                    log.exception("finalizing %r's recording failed", entry.name)
            if entry.blackhole is not None:
                await entry.blackhole.stop()

    # -- status ---------------------------------------------------------------

    def _select(self, guest: str | None) -> list[_Guest]:
        guests = list(self._guests.values())
        if guest is None:
            return guests
        return [g for g in guests if g.name == guest or g.session_id == guest]

    def _status(self, entry: _Guest) -> dict[str, Any]:
        rec = (entry.media.recording_status() if entry.media is not None else None) or {}
        path = rec.get("path")
        plan = entry.config.plan
        return {
            "name": entry.name,
            "session_id": entry.session_id,
            "client": entry.client,
            "connected": entry.pc.connectionState == "connected",
            "connection_state": entry.pc.connectionState,
            "media": list(entry.kinds),
            "recording": bool(rec.get("recording")),
            "recording_seconds": float(rec.get("seconds") or 0.0),
            "file": str(path) if path else None,
            "file_bytes": int(rec.get("bytes") or 0),
            "error": entry.error or rec.get("error"),
            "mode": plan.mode,
            "video_kbps": plan.video_kbps,
            "inbound_audio_kbps": plan.inbound_audio_kbps,
            "since": entry.created,
        }

    def _changed(self) -> None:
        if self._on_change is not None:
            _call_quietly("on_change", self._on_change)
