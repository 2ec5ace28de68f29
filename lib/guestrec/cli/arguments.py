"""The command line's arguments: one subcommand per job (serve, sfu-record, sfu-link,
convert, repair, export), each with its options and their help."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..common.plan import RECORD_CODECS
from ..conversation.settings import RETURN_VIDEO_MODES
from ..ingest.vdoninja.settings import DIALECT_CHOICES
from .export import add_export


def _video_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 16 or int(height) < 16:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, not {text!r}")
    return int(width), int(height)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve guests over WHIP and record each one")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--out", type=Path, default=Path("recordings"), help="output folder")
    p.add_argument(
        "--record", default=None,
        help="the &record value: N = video at N kbps (default 6000), -N = Opus only at N kbps, 0 = PCM only",
    )
    p.add_argument("--pcm", action="store_true", help="record audio as 32-bit float PCM")
    p.add_argument("--codec", default="vp8", choices=RECORD_CODECS, help="record codec (copy = no re-encode)")
    p.add_argument("--token", default="", help="bearer token guests need (default: a random one)")
    p.add_argument("--operator-key", default="", metavar="KEY|@FILE",
                   help="the control room's key, needed by every operator action (default: a random one)")
    p.add_argument("--invite-only", action="store_true",
                   help="guests join only through their own invites (made in the control room); "
                        "the guest link lets nobody in")
    p.add_argument("--invites-file", type=Path, metavar="FILE",
                   help="keep invites in this file across restarts (default: until the server stops)")
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM); default: self-signed off loopback")
    p.add_argument("--key", type=Path, help="TLS private key (PEM)")
    p.add_argument("--split-minutes", type=float, default=None, help="start a new file every N minutes")
    p.add_argument(
        "--max-video-size", type=_video_size, default=(3840, 2160), metavar="WxH",
        help="refuse guest video larger than this, either orientation (default 3840x2160)",
    )
    p.add_argument("--no-auto-record", action="store_true", help="do not record guests when they join")
    v = p.add_argument_group("VDO.Ninja room (its publishers become guests)")
    v.add_argument("--vdo-room", help="the room's name")
    v.add_argument("--vdo-link",
                   help="a VDO.Ninja link naming the room (room, password, server read from it)")
    v.add_argument("--vdo-password",
                   help="the room's password; 'false' switches encryption off (default: VDO.Ninja's)")
    v.add_argument("--vdo-server", help="handshake server, wss://HOST:PORT (default: VDO.Ninja's own)")
    v.add_argument("--vdo-dialect", choices=DIALECT_CHOICES,
                   help="hosted (VDO.Ninja's server), relay (its self-hosted handshake server), "
                        "auto (default)")
    v.add_argument("--vdo-streams",
                   help="only these stream ids, comma separated (default: everyone who publishes)")
    v.add_argument("--vdo-director", action="store_true",
                   help="as the room's director, also start and stop each guest's own recording")
    v.add_argument("--vdo-ca", type=Path,
                   help="trust this CA (PEM) for the handshake server, besides the system's")
    p.add_argument(
        "--record-at", choices=("studio", "guest", "both"), default=None,
        help="where guests are recorded: what arrives at the studio, the guest's own browser "
        "(uploaded while recording), or both (default: both in video modes, studio otherwise)",
    )
    p.add_argument(
        "--ice-servers", metavar="JSON|@FILE", default="",
        help='STUN/TURN servers as W3C RTCIceServer JSON (or @file holding it); default: one public '
             'STUN server; "[]" = none',
    )
    p.add_argument(
        "--turn-secret", metavar="SECRET|@FILE", default="",
        help="coturn's static-auth-secret: guests get TURN credentials minted from it (or @file holding it)",
    )
    r = p.add_argument_group("return feed (what guests whose offers ask to receive get back)")
    r.add_argument("--return-audio", choices=("on", "off"), default="on",
                   help="each guest hears the other guests and the studio audio, never itself (default on)")
    r.add_argument("--studio-audio", type=Path, metavar="FILE",
                   help="an audio file played in a loop as the studio's sound in the return")
    r.add_argument("--return-video", choices=RETURN_VIDEO_MODES, default="grid",
                   help="grid: the guests' pictures side by side, 640x360, encoded once for all "
                        "(default); off: no picture")
    _add_sfu_options(p, required=False)


def _add_sfu_options(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--sfu", required=required, metavar="janus:URL",
                   help="guests through a Janus VideoRoom, e.g. janus:http://host:8088/janus")
    p.add_argument("--sfu-room", metavar="ROOM", help="the VideoRoom room number")
    p.add_argument("--sfu-secret", default="", metavar="S", help="Janus's API secret")


def _add_sfu_record(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sfu-record", help="record a share of the guests of a Janus VideoRoom room")
    _add_sfu_options(p, required=True)
    p.add_argument("--shard", default="1/1", metavar="I/N",
                   help="record only guest share I of N (a stable hash of the guest's name)")
    p.add_argument("--out", type=Path, default=Path("recordings"), help="output folder")
    p.add_argument("--record", default=None, help="the &record value (as for serve)")
    p.add_argument("--pcm", action="store_true", help="record audio as 32-bit float PCM")
    p.add_argument("--codec", default="copy", choices=RECORD_CODECS,
                   help="record codec (default copy: no re-encode)")
    p.add_argument("--split-minutes", type=float, default=None, help="start a new file every N minutes")
    p.add_argument("--max-guests", type=int, default=64, help="most guests this recorder takes (default 64)")


def _add_sfu_link(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sfu-link", help="make the guests of a room on one Janus appear on another")
    for side, what in (("from", "the Janus the guests publish to"), ("to", "the Janus that gets them too")):
        p.add_argument(f"--{side}", required=True, metavar="janus:URL", help=what)
        p.add_argument(f"--{side}-room", required=True, metavar="ROOM")
        p.add_argument(f"--{side}-secret", default="", metavar="S", help="API secret")
        p.add_argument(f"--{side}-room-secret", required=True, metavar="RS",
                       help="room secret (and admin key), as install/janus.sh printed it")


def _add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a recording without re-encoding")
    p.add_argument("file", type=Path)
    p.add_argument("--to", required=True, choices=("opus", "wav", "mka", "mp4", "webm"))
    p.add_argument("--out", type=Path, default=None, help="output file (default: beside the input)")


def _add_repair(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repair", help="rewrite duration and cues of an interrupted recording")
    p.add_argument("file", type=Path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guestrec", description="Guest Recorder for OBS")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_sfu_record(sub)
    _add_sfu_link(sub)
    _add_convert(sub)
    _add_repair(sub)
    add_export(sub)
    return parser
