"""WHIP offers to guests: checks an offer, makes the peer connection, answers it tuned to
the record plan, and hands the guest to the core. Implements `interfaces.SessionHost`.

ICE gathering completes before the answer goes out (WHIP gets no trickle from us). A WHIP
session id names the guest's resource for DELETE; the core never sees it.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from ...common.interfaces import OfferRejected, SessionAnswer
from ...core import Guest, GuestRoster, PageChannel
from ...core.continuity import Continuity
from ...core.end_reasons import SCREEN_STOPPED
from ...core.screen_shares import NO_OWNER, SOUND_ONLY, screen_name
from ...webrtc import sdp
from ...webrtc.ice import IceSettings
from ...webrtc.ice_status import MDNS, candidate_types
from .offer_checks import cap_candidates, require_fingerprint

if TYPE_CHECKING:
    from ...conversation.return_feed import ReturnFeed

log = logging.getLogger(__name__)

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


class WhipIngest:
    """WHIP sessions over the shared guest roster."""

    def __init__(self, roster: GuestRoster, returns: ReturnFeed | None = None) -> None:
        self.roster = roster
        # What guests whose offers ask to receive get back (sendonly offers: nothing).
        self.returns = returns
        self._sessions: dict[str, Guest] = {}
        # Sessions that ended on their own (connection closed or failed): a client's DELETE
        # that comes just after still finds them, instead of a puzzling 404.
        # The guest's continuity is kept so that such a DELETE also frees a dropped
        # guest's name at once: the guest has said it is not coming back.
        self._ended: OrderedDict[str, Continuity | None] = OrderedDict()

    def _make_peer_connection(self, ice: IceSettings) -> RTCPeerConnection:
        # Always an explicit list: aiortc given none would use a public STUN server.
        return RTCPeerConnection(RTCConfiguration(iceServers=ice.for_studio().servers))

    def client_ice_servers(self, guest: str) -> list[dict[str, Any]]:
        """The ICE servers for a guest's own peer connection (W3C JSON), TURN credentials
        minted for it when the studio has a TURN secret."""
        return self.roster.current_config().ice.for_client(guest)

    async def open_session(
        self, guest: str, offer_sdp: str, resume_secret: str | None = None,
        peer: str | None = None,
    ) -> SessionAnswer:
        return await self._open(guest, offer_sdp, resume_secret, peer)

    async def open_screen(self, owner_session: str, offer_sdp: str, peer: str | None = None) -> SessionAnswer:
        """A guest's screen share, beside the session `owner_session` of the guest who
        shares it: a guest of its own named "<name> (screen)", recorded at the studio only
        (the guest's browser records its camera). Refused in sound-only record modes. A
        guest shares one screen at a time: a new share replaces the one before."""
        owner = self._sessions.get(owner_session)
        if owner is None or owner.ended or owner.continuity is None or owner.screen_of is not None:
            raise OfferRejected(NO_OWNER, 409)
        if not self.roster.current_config().plan.video:
            raise OfferRejected(SOUND_ONLY, 409)
        for session_id, guest in list(self._sessions.items()):
            if guest.screen_of is owner.continuity:
                await self.close_session(session_id)
        return await self._open(screen_name(owner.name), offer_sdp, None, peer, screen_of=owner)

    async def _open(
        self, guest: str, offer_sdp: str, resume_secret: str | None, peer: str | None,
        screen_of: Guest | None = None,
    ) -> SessionAnswer:
        try:
            sections = sdp.parse_media(offer_sdp)
        except sdp.SdpError as exc:
            raise OfferRejected(str(exc), 400) from None
        require_fingerprint(offer_sdp)
        offer_sdp = cap_candidates(offer_sdp)
        guest_types = candidate_types(offer_sdp)
        if any(t.split("/")[0] == MDNS for t in guest_types):
            # aioice tries to resolve .local names (on the guest's own network they do).
            # When none does, the offer's end-of-candidates would fail ICE at once, before
            # the answer is read, and the answer would lose the studio's candidates. Without
            # it, ICE waits for the guest's checks to the studio's candidates instead.
            offer_sdp = sdp.without_end_of_candidates(offer_sdp)
        problem = sdp.offer_problem(offer_sdp)
        if problem:
            raise OfferRejected(problem, 422)
        await self.roster.make_room(peer)
        config = self.roster.current_config()
        if screen_of is not None:
            config = dataclasses.replace(config, record_at="studio")
        name = await self.roster.claim_name(guest, resume_secret)
        is_ffmpeg = any(m in offer_sdp for m in _FFMPEG_MARKERS)
        try:
            pc = self._make_peer_connection(config.ice)
        except BaseException:
            self.roster.release_name(name)
            raise
        session_id = secrets.token_urlsafe(16)
        entry = self.roster.admit(
            name, pc, client="ffmpeg" if is_ffmpeg else "webrtc", config=config,
            control=PageChannel(pc), dtls_failure_hint=FFMPEG_DTLS_HINT if is_ffmpeg else None,
            on_finished=lambda g, reason: self._ended_on_its_own(session_id, g), peer=peer,
            screen_of=screen_of.continuity if screen_of is not None else None,
        )
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                if self.returns is not None:
                    self.returns.connect(name, pc, sections)  # before the answer names them
                    if screen_of is not None:
                        self.returns.unheard_by(name, {screen_of.name})
                await pc.setLocalDescription(await pc.createAnswer())  # gathers ICE fully
            except Exception as exc:  # noqa: BLE001 - aiortc raises many kinds on odd SDP
                raise OfferRejected(f"cannot use this offer: {exc}", 400) from None
            answer = sdp.tune_answer(pc.localDescription.sdp, config.plan)
            entry.ice_offered = {"guest": guest_types, "studio": candidate_types(answer)}
        except BaseException:
            await self.roster.finish(entry, "offer not answered")
            raise
        self._sessions[session_id] = entry
        log.info("guest %r %s (%s, %s)", name, "is back" if entry.resumed else
                 f"shares {screen_of.name}'s screen" if screen_of is not None else "joined",
                 entry.client, ", ".join(entry.kinds) or "no media")
        # RFC 9725 4.6: the ICE servers for a WHIP client, in the 201 only (OPTIONS here is
        # an unauthenticated CORS preflight, which must not hand out TURN credentials).
        return SessionAnswer(session_id=session_id, answer_sdp=answer, guest=name,
                             links=config.ice.link_headers(name),
                             resume_secret=entry.continuity.secret if entry.continuity else None)

    def has_session(self, session_id: str) -> bool:
        """Whether that session's guest is still here (not ended, on its own or not)."""
        return session_id in self._sessions

    async def close_session(self, session_id: str) -> bool:
        entry = self._sessions.pop(session_id, None)
        if entry is None:
            if session_id in self._ended:
                # One DELETE ends a session, as for a live one.
                continuity = self._ended.pop(session_id)
                if continuity is not None:
                    self.roster.forget_return(continuity)
                return True
            return False
        await self.roster.finish(entry, SCREEN_STOPPED if entry.screen_of is not None else "hung up")
        return True

    def _ended_on_its_own(self, session_id: str, guest: Guest) -> None:
        # Called for every finished guest; only one still in _sessions ended on its own.
        if self._sessions.pop(session_id, None) is None:
            return
        self._ended[session_id] = guest.continuity
        while len(self._ended) > ENDED_SESSIONS_KEPT:
            self._ended.popitem(last=False)

    def guest_statuses(self) -> list[dict[str, Any]]:
        return self.roster.guest_statuses()
