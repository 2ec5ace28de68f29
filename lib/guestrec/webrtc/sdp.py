"""SDP text helpers: tune our answer to the record plan and inspect a guest's offer.

Pure functions on SDP text. The answer is tuned after aiortc writes it because aiortc
offers no API for Opus fmtp parameters or bandwidth lines:

- every Opus payload gets `stereo=1;sprop-stereo=1;maxaveragebitrate=<bps>` so the
  guest's browser sends stereo at the bitrate the plan wants to record;
- with video, the video section gets `b=AS` (kbps) and `b=TIAS` (bps) so the browser
  caps its video near the recorded bitrate (RFC 4566 / RFC 3890).

Offers are inspected before a peer connection is made, so hopeless ones are refused
cheaply with a reason a person can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..common.plan import RecordPlan

# What aiortc can decode on receive; anything else would arrive as undecodable RTP.
RECEIVABLE_CODECS = {"audio": ("opus",), "video": ("vp8", "h264")}
SENDING_DIRECTIONS = ("sendrecv", "sendonly")
RECEIVING_DIRECTIONS = ("sendrecv", "recvonly")  # the offerer takes media back (a return)
# A guest sends a camera, a microphone and a data channel; a few spare for screen shares.
MAX_SECTIONS = 6
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_LINE = re.compile(r"^[a-z]=")
_MEDIA = re.compile(r"^m=(\S+) (\d+)(?:/\d+)? (\S+)(?: (.*))?$")
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) ([^/\s]+)/(\d+)(?:/(\d+))?\s*$")
_FMTP = re.compile(r"^a=fmtp:(\d+) ?(.*)$")


class SdpError(ValueError):
    """SDP text that does not parse as a session description."""


@dataclass
class MediaSection:
    """One m= section of an SDP, enough of it to judge an offer."""

    kind: str  # "audio", "video", "application", ...
    port: int
    protocol: str
    formats: list[str]
    codecs: dict[int, str] = field(default_factory=dict)  # payload type -> lower-case name
    direction: str = "sendrecv"
    mid: str | None = None

    @property
    def rejected(self) -> bool:
        return self.port == 0

    @property
    def sends(self) -> bool:
        """Whether the offerer sends media in this section."""
        return not self.rejected and self.direction in SENDING_DIRECTIONS

    @property
    def receives(self) -> bool:
        """Whether the offerer wants media from us in this section."""
        return not self.rejected and self.direction in RECEIVING_DIRECTIONS

    def receivable(self) -> list[str]:
        """Codec names in this section that we can decode, in offer order, no repeats."""
        wanted = RECEIVABLE_CODECS.get(self.kind, ())
        found: list[str] = []
        for name in self.codecs.values():
            if name in wanted and name not in found:
                found.append(name)
        return found


def split_lines(sdp: str) -> tuple[list[str], str]:
    """The SDP's lines without line ends, and the line end it uses (CRLF by the RFC)."""
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = [line.rstrip("\r") for line in sdp.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines, newline


def join_lines(lines: list[str], newline: str) -> str:
    return newline.join(lines) + newline


def _section_bounds(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) indexes of every m= section; end is exclusive."""
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    return [(s, starts[n + 1] if n + 1 < len(starts) else len(lines)) for n, s in enumerate(starts)]


def parse_media(sdp: str) -> list[MediaSection]:
    """Parse the m= sections of an SDP. Raises SdpError when the text is not SDP."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise SdpError("the offer is empty")
    lines, _ = split_lines(sdp.strip())
    if lines[0] != "v=0":
        raise SdpError("not an SDP offer: it must start with v=0")
    for number, line in enumerate(lines, 1):
        if not _LINE.match(line):
            raise SdpError(f"line {number} is not an SDP line of the form x=value")
    session_direction = "sendrecv"
    first_media = next((i for i, line in enumerate(lines) if line.startswith("m=")), len(lines))
    for line in lines[:first_media]:
        if line[2:] in DIRECTIONS:
            session_direction = line[2:]

    sections: list[MediaSection] = []
    for start, end in _section_bounds(lines):
        match = _MEDIA.match(lines[start])
        if not match:
            raise SdpError(f"malformed media line: {lines[start][:80]!r}")
        kind, port, protocol, formats = match.groups()
        section = MediaSection(
            kind=kind, port=int(port), protocol=protocol,
            formats=(formats or "").split(), direction=session_direction,
        )
        for line in lines[start + 1:end]:
            rtpmap = _RTPMAP.match(line)
            if rtpmap:
                section.codecs[int(rtpmap.group(1))] = rtpmap.group(2).lower()
            elif line[2:] in DIRECTIONS:
                section.direction = line[2:]
            elif line.startswith("a=mid:"):
                section.mid = line[6:].strip()
        sections.append(section)
    return sections


def offer_problem(sdp: str) -> str | None:
    """Why an offer cannot be recorded, in words; None when it looks usable.

    Usable means: it parses, and at least one audio or video section sends us a codec
    that aiortc decodes (Opus; VP8 or H.264).
    """
    try:
        sections = parse_media(sdp)
    except SdpError as exc:
        return str(exc)
    if len(sections) > MAX_SECTIONS:
        # Each section unbundled costs aiortc its own ICE/DTLS transport and sockets.
        return f"the offer has {len(sections)} media sections; at most {MAX_SECTIONS} are taken"
    media = [s for s in sections if s.kind in RECEIVABLE_CODECS]
    if not media:
        return "the offer has no audio or video section"
    sending = [s for s in media if s.sends]
    if not sending:
        return "the offer sends no audio or video (every section is recvonly, inactive or rejected)"
    if not any(s.receivable() for s in sending):
        offered = sorted({name for s in sending for name in s.codecs.values()})
        return (
            "no codec we can receive: audio must offer Opus, video VP8 or H.264; offered: "
            + (", ".join(offered) or "none")
        )
    return None


def _opus_payload_types(lines: list[str], start: int, end: int) -> list[int]:
    found = []
    for line in lines[start + 1:end]:
        match = _RTPMAP.match(line)
        if match and match.group(2).lower() == "opus":
            found.append(int(match.group(1)))
    return found


def tune_opus_fmtp(params: str, bitrate_bps: int) -> str:
    """Set stereo, sprop-stereo and maxaveragebitrate in an fmtp parameter list.

    Existing values of those keys are replaced in place; other keys keep their order.
    """
    wanted = {"stereo": "1", "sprop-stereo": "1", "maxaveragebitrate": str(int(bitrate_bps))}
    out: list[str] = []
    seen: set[str] = set()
    for item in params.split(";"):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key_l = key.strip().lower()
        if key_l in wanted:
            if key_l in seen:
                continue  # a duplicate key would leave the value ambiguous
            seen.add(key_l)
            out.append(f"{key_l}={wanted[key_l]}")
        else:
            out.append(f"{key.strip()}{sep}{value.strip()}" if sep else key.strip())
    for key, value in wanted.items():
        if key not in seen:
            out.append(f"{key}={value}")
    return ";".join(out)


def _tune_audio_section(lines: list[str], start: int, end: int, bitrate_bps: int) -> list[str]:
    section = lines[start:end]
    for pt in _opus_payload_types(lines, start, end):
        fmtp_at = next(
            (i for i, line in enumerate(section) if (m := _FMTP.match(line)) and int(m.group(1)) == pt),
            None,
        )
        if fmtp_at is not None:
            params = _FMTP.match(section[fmtp_at]).group(2)  # type: ignore[union-attr]
            section[fmtp_at] = f"a=fmtp:{pt} {tune_opus_fmtp(params, bitrate_bps)}"
        else:
            rtpmap_at = next(i for i, line in enumerate(section) if line.startswith(f"a=rtpmap:{pt} "))
            section.insert(rtpmap_at + 1, f"a=fmtp:{pt} {tune_opus_fmtp('', bitrate_bps)}")
    return section


def _video_payload_types(section: list[str]) -> list[int]:
    """Payload types of the picture codecs (not rtx, red or FEC) in one video section."""
    return [int(m.group(1)) for line in section
            if (m := _RTPMAP.match(line)) and m.group(2).lower() in ("vp8", "vp9", "av1", "h264")]


def _with_start_bitrate(section: list[str], kbps: int) -> list[str]:
    # Chromium starts its bandwidth estimate at x-google-start-bitrate and never goes below
    # x-google-min-bitrate: the plan's bitrate from the first second, and at least half of
    # it, so the studio's conservative receive estimate (aiortc's REMB) cannot hold a
    # healthy link down to a small picture.
    wanted = {"x-google-start-bitrate": str(kbps), "x-google-min-bitrate": str(max(1, kbps // 2))}
    for pt in _video_payload_types(section):
        at = next((i for i, line in enumerate(section)
                   if (m := _FMTP.match(line)) and int(m.group(1)) == pt), None)
        if at is None:
            rtpmap_at = next(i for i, line in enumerate(section) if line.startswith(f"a=rtpmap:{pt} "))
            section.insert(rtpmap_at + 1, f"a=fmtp:{pt} " + ";".join(f"{k}={v}" for k, v in wanted.items()))
            continue
        params = [p for p in _FMTP.match(section[at]).group(2).split(";")  # type: ignore[union-attr]
                  if p.strip() and p.split("=")[0].strip().lower() not in wanted]
        section[at] = f"a=fmtp:{pt} " + ";".join(params + [f"{k}={v}" for k, v in wanted.items()])
    return section


def _tune_video_section(section: list[str], kbps: int) -> list[str]:
    section = [line for line in section if not line.startswith(("b=AS:", "b=TIAS:"))]
    section = _with_start_bitrate(section, kbps)
    # RFC 4566 order inside a media description: m= i= c= b= k= a=.
    insert_at = 1
    for i, line in enumerate(section[1:], 1):
        if line.startswith(("i=", "c=")):
            insert_at = i + 1
        elif not line.startswith(("b=",)):
            break
    section[insert_at:insert_at] = [f"b=AS:{kbps}", f"b=TIAS:{kbps * 1000}"]
    return section


def tune_answer(sdp: str, plan: RecordPlan) -> str:
    """Our SDP answer with the plan's audio (and video) wishes written in."""
    lines, newline = split_lines(sdp)
    bounds = _section_bounds(lines)
    if not bounds:
        return sdp
    out = lines[:bounds[0][0]]
    for start, end in bounds:
        match = _MEDIA.match(lines[start])
        kind = match.group(1) if match else ""
        port = int(match.group(2)) if match else 0
        section = lines[start:end]
        if port != 0 and kind == "audio":
            section = _tune_audio_section(lines, start, end, plan.inbound_audio_bps)
        elif port != 0 and kind == "video" and plan.video and plan.video_kbps:
            section = _tune_video_section(section, plan.video_kbps)
        out.extend(section)
    return join_lines(out, newline)


def fmtp_params(sdp: str, codec: str) -> list[dict[str, str]]:
    """The fmtp parameters of every payload of one codec, e.g. to check an answer."""
    lines, _ = split_lines(sdp)
    result = []
    for start, end in _section_bounds(lines):
        pts = set()
        for line in lines[start + 1:end]:
            m = _RTPMAP.match(line)
            if m and m.group(2).lower() == codec.lower():
                pts.add(int(m.group(1)))
        for line in lines[start + 1:end]:
            m = _FMTP.match(line)
            if m and int(m.group(1)) in pts:
                params = {}
                for item in m.group(2).split(";"):
                    key, _, value = item.strip().partition("=")
                    if key:
                        params[key.lower()] = value
                result.append(params)
    return result


def bandwidth_lines(sdp: str, kind: str) -> list[str]:
    """The b= lines of every section of one kind, in order."""
    lines, _ = split_lines(sdp)
    found = []
    for start, end in _section_bounds(lines):
        if lines[start].startswith(f"m={kind} "):
            found.extend(line for line in lines[start:end] if line.startswith("b="))
    return found


def without_end_of_candidates(sdp: str) -> str:
    """The SDP with its a=end-of-candidates lines left out: its ICE agent then goes on
    expecting candidates, and learns the peer's address from the peer's own checks."""
    lines, newline = split_lines(sdp)
    return join_lines([line for line in lines if line != "a=end-of-candidates"], newline)
