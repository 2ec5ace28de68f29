"""Command line: `python3 -m guestrec serve|convert|repair ...`, no OBS needed."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..common.plan import RecordSettingsError
from ..ingest.vdoninja.settings import (
    VdoSettings,
    VdoSettingsError,
    parse_password,
    parse_streams,
    server_url,
    settings_from_link,
)
from .arguments import build_parser
from .export import export
from .stop_signals import stop_on_signals, stop_signals


def vdo_settings(args: argparse.Namespace) -> VdoSettings | None:
    """The VDO.Ninja room of the command line, None without --vdo-room/--vdo-link."""
    if not (args.vdo_room or args.vdo_link):
        return None
    values: dict = {"director": args.vdo_director, "extra_ca": args.vdo_ca}
    if args.vdo_room:
        values["room"] = args.vdo_room
    if args.vdo_password is not None:
        values["password"] = parse_password(args.vdo_password)
    if args.vdo_server:
        values["server"] = server_url(args.vdo_server)
    if args.vdo_dialect:
        values["dialect"] = args.vdo_dialect
    if args.vdo_streams:
        values["streams"] = parse_streams(args.vdo_streams)
    if args.vdo_link:
        return settings_from_link(args.vdo_link, **values)
    return VdoSettings(**values)


def serve(args: argparse.Namespace) -> int:
    from ..server.engine import Engine, EngineError, EngineSettings
    from ..server.secrecy import TokenMask
    from ..webrtc.ice import IceConfigError, read_ice_servers_arg

    if (args.cert is None) != (args.key is None):
        print("error: --cert and --key go together", file=sys.stderr)
        return 2
    try:
        vdo = vdo_settings(args)
        ice_servers = read_ice_servers_arg(args.ice_servers) if args.ice_servers else ""
        turn_secret = _read_secret(args.turn_secret)
        operator_key = _read_secret(args.operator_key, "--operator-key")
    except (VdoSettingsError, IceConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = EngineSettings(
        out_dir=args.out.resolve(), host=args.host, port=args.port, token=args.token,
        record=args.record, pcm=args.pcm, codec=args.codec,
        auto_record=not args.no_auto_record, split_minutes=args.split_minutes,
        record_at=args.record_at, cert=args.cert, key=args.key, ice_servers=ice_servers,
        turn_secret=turn_secret, max_video_size=args.max_video_size, vdo=vdo,
        sfu=args.sfu or "", sfu_room=args.sfu_room, sfu_secret=args.sfu_secret,
        return_audio=args.return_audio == "on", return_video=args.return_video,
        studio_audio=args.studio_audio.resolve() if args.studio_audio else None,
        operator_key=operator_key, invite_only=args.invite_only,
        invites_file=args.invites_file.resolve() if args.invites_file else None,
    )
    try:
        engine = Engine(settings, log=lambda level, msg: logging.getLogger("guestrec").log(
            logging.getLevelName(level.upper()), msg))
        for handler in logging.getLogger().handlers:  # whatever logs a request, never a secret
            handler.addFilter(TokenMask(engine.secrets))
        engine.start()
    except (RecordSettingsError, EngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    plan = settings.plan()
    if settings.sfu:
        print(f"Guests go through {settings.sfu}, room {settings.sfu_room}", flush=True)
    print(f"Recording to {settings.out_dir} ({plan.mode}, {args.codec})", flush=True)
    # The one place the full token and key are shown: this is the operator's screen, not a log.
    print(f"Control room: {engine.control_link}", flush=True)
    if settings.invite_only:
        print("Guest link: none (invite-only: make each guest's invite in the control room)", flush=True)
    else:
        print(f"Guest link: {engine.guest_link}", flush=True)
    ice = settings.ice()
    print(ice.describe(), flush=True)
    for note in ice.for_studio().notes:
        print(f"  {note} (guests' browsers use it)", flush=True)
    print(f"WHIP URL:   {engine.base_url}/whip/<guest name>  "
          "(Authorization: Bearer TOKEN, the token of the guest link or of an invite's link)",
          flush=True)
    cert, key = engine.publisher_dtls_identity()
    print(
        "FFmpeg 8 publishers (its GnuTLS DTLS key is refused without these):\n"
        f"  ffmpeg -re -i INPUT -c:v libx264 -bf 0 -c:a libopus -f whip -authorization TOKEN "
        f"-cert_file {cert} -key_file {key} {engine.base_url}/whip/NAME",
        flush=True,
    )
    print(_return_line(settings), flush=True)
    if vdo is not None:
        print(f"VDO.Ninja room: {vdo.room} at {vdo.server}"
              + (" (director)" if vdo.director else ""), flush=True)
    print("Press Ctrl-C to stop; every recording is finalized.", flush=True)

    stop = threading.Event()
    for sig in stop_signals():
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        if not engine.running:
            print("error: the engine stopped unexpectedly", file=sys.stderr)
            return 1
    print("Stopping: finalizing recordings...", flush=True)
    engine.stop(timeout=10)
    print("Stopped.", flush=True)
    return 0


def _return_line(settings: Any) -> str:
    """What guests who ask for a return get, in one line."""
    if settings.sfu:
        return "Return feed: off (guests go through the SFU)"
    parts = []
    if settings.return_audio:
        studio = f" and {settings.studio_audio.name}" if settings.studio_audio else ""
        parts.append(f"audio (the other guests{studio}, never themselves)")
    if settings.return_video != "off":
        parts.append(f"video ({settings.return_video})")
    return "Return feed: " + (" + ".join(parts) if parts else "off")


def sfu_record(args: argparse.Namespace) -> int:
    import asyncio

    from ..common.plan import make_plan
    from ..ingest.sfu import SfuSettingError, parse_room, parse_sfu
    from ..ingest.sfu.janus_client import JanusError
    from ..ingest.sfu.shard import Shard
    from ..ingest.sfu.shard_recorder import RecorderSettings, ShardRecorder

    try:
        settings = RecorderSettings(
            url=parse_sfu(args.sfu), room=parse_room(args.sfu_room), api_secret=args.sfu_secret or None,
            shard=Shard.parse(args.shard), plan=make_plan(args.record, pcm=args.pcm, codec=args.codec),
            out_dir=args.out.resolve(), split_minutes=args.split_minutes, max_guests=args.max_guests,
        )
    except (SfuSettingError, ValueError, RecordSettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        stop = stop_on_signals()
        recorder = ShardRecorder(settings)
        if not await _started(recorder, JanusError):
            return 2
        shard = settings.shard
        print(f"Recording share {shard.index}/{shard.count} of room {settings.room} at {settings.url} "
              f"to {settings.out_dir} ({settings.plan.mode}, {args.codec})", flush=True)
        if recorder.watcher.problem:
            print(f"Waiting for Janus: {recorder.watcher.problem}", flush=True)
        print("Press Ctrl-C to stop; every recording is finalized.", flush=True)
        try:
            await stop.wait()
        finally:
            print("Stopping: finalizing recordings...", flush=True)
            await recorder.stop()
            print("Stopped.", flush=True)
        return 0

    return asyncio.run(run())


async def _started(service: Any, errors: type[Exception] | tuple[type[Exception], ...]) -> bool:
    """Start `service`; False, after saying why on stderr, when it raises one of `errors`."""
    try:
        await service.start()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return True


def _read_secret(value: str, option: str = "--turn-secret") -> str:
    """A secret given as is or as @FILE (keeps it out of the process list)."""
    if not value.startswith("@"):
        return value.strip()
    path = Path(value[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise OSError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None


def sfu_link(args: argparse.Namespace) -> int:
    import asyncio

    from ..ingest.sfu import SfuSettingError, parse_room, parse_sfu
    from ..ingest.sfu.janus_client import JanusError
    from ..ingest.sfu.link import RoomAccess, RoomLink

    try:
        source, target = (
            RoomAccess(parse_sfu(getattr(args, side)), parse_room(getattr(args, f"{side}_room")),
                       getattr(args, f"{side}_secret") or None, getattr(args, f"{side}_room_secret"))
            for side in ("from", "to"))
    except SfuSettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        stop = stop_on_signals()
        link = RoomLink(source, target)
        if not await _started(link, JanusError):
            return 2
        print(f"Linking room {source.room} at {source.url} to room {target.room} at {target.url}", flush=True)
        try:
            await stop.wait()
        finally:
            await link.stop()
            print("Stopped; links removed.", flush=True)
        return 0

    return asyncio.run(run())


def convert(args: argparse.Namespace) -> int:
    from .convert import convert_file

    try:
        out = convert_file(args.file, args.to, args.out)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


def repair(args: argparse.Namespace) -> int:
    from .repair import repair_file

    try:
        out = repair_file(args.file)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aioice", "aiortc", "aiohttp.access", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    handler = {"serve": serve, "sfu-record": sfu_record, "sfu-link": sfu_link, "convert": convert,
               "repair": repair, "export": export}[args.command]
    return handler(args)
