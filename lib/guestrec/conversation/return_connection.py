"""Where a guest's peer connection can carry the return: the offer's audio and video
sections that want to receive, matched to aiortc's transceivers.

The return goes only where the guest asked for it (a sendrecv or recvonly section) and
only in the codec aiortc will send there: its sender uses the first codec both sides
share, in the offer's order, and packs our packets as that codec. A section whose first
shared codec is not ours (Opus for audio, VP8 for video) gets no return.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver

from ..webrtc.sdp import MediaSection
from .return_audio_track import ReturnAudioTrack
from .shared_video_track import SharedVideoTrack
from .voice_tap import VoiceTap

RETURN_CODECS = {"audio": "audio/opus", "video": "video/vp8"}


@dataclass
class ReturnConnection:
    """One connection of a guest, and the return tracks it carries."""

    name: str
    pc: RTCPeerConnection
    audio: ReturnAudioTrack | None = None
    video: SharedVideoTrack | None = None
    voice: VoiceTap | None = None  # the guest's own audio, taken in for the mix
    closed: bool = False
    watching: bool = True  # the grid is encoded for it (see ReturnFeed.set_watching)
    video_started: bool = False  # its video sender has started pulling


def _first_codec(transceiver: RTCRtpTransceiver) -> str | None:
    # aiortc 1.16 keeps the negotiated codecs private; its sender uses the first one.
    codecs = getattr(transceiver, "_codecs", None) or []
    return codecs[0].mimeType.lower() if codecs else None


def _matched(
    pc: RTCPeerConnection, sections: list[MediaSection],
) -> list[tuple[MediaSection, RTCRtpTransceiver]]:
    """Each audio/video section of the offer with its transceiver: by mid, else in order."""
    media = [s for s in sections if s.kind in RETURN_CODECS]
    transceivers = pc.getTransceivers()
    by_mid = {t.mid: t for t in transceivers if t.mid}
    pairs = []
    for index, section in enumerate(media):
        transceiver = by_mid.get(section.mid) if section.mid else None
        if transceiver is None and index < len(transceivers):
            transceiver = transceivers[index]
        if transceiver is not None and transceiver.kind == section.kind:
            pairs.append((section, transceiver))
    return pairs


def return_transceivers(
    pc: RTCPeerConnection, sections: list[MediaSection],
) -> dict[str, RTCRtpTransceiver]:
    """{"audio": transceiver, "video": transceiver} where the return can go (the first
    fitting section of each kind). Call between setRemoteDescription and createAnswer."""
    found: dict[str, RTCRtpTransceiver] = {}
    for section, transceiver in _matched(pc, sections):
        if (section.receives and section.kind not in found
                and transceiver.sender.track is None
                and _first_codec(transceiver) == RETURN_CODECS[section.kind]):
            found[section.kind] = transceiver
    return found


def sending_audio(pc: RTCPeerConnection, sections: list[MediaSection]) -> RTCRtpTransceiver | None:
    """The transceiver the guest's voice comes in on (its first sending Opus section)."""
    for section, transceiver in _matched(pc, sections):
        if section.kind == "audio" and section.sends and _first_codec(transceiver) == RETURN_CODECS["audio"]:
            return transceiver
    return None


def send_on(transceiver: RTCRtpTransceiver, track: ReturnAudioTrack | SharedVideoTrack) -> None:
    """Make `transceiver` send `track` too; the answer then says sendrecv (or sendonly)."""
    transceiver.sender.replaceTrack(track)
    transceiver.direction = "sendrecv"


def prefer_return_codec(transceiver: RTCRtpTransceiver) -> None:
    """On a connection the studio offers: only the codec our packets are in."""
    wanted = RETURN_CODECS[transceiver.kind]
    codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == wanted])
