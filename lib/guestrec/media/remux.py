"""Stream copy from one container to another: the only way recordings are rewritten.

No packet is decoded or encoded. Reading stops quietly at the first unreadable packet,
which is where an interrupted recording ends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import av

log = logging.getLogger(__name__)


def probe(path: Path) -> dict[str, str | None]:
    """{"video": codec name or None, "audio": codec name or None} of a media file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0].codec_context.name if container.streams.video else None
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    return {"video": _canonical(video), "audio": _canonical(audio)}


def _canonical(name: str | None) -> str | None:
    # Decoder names differ from codec names for some codecs (libdav1d, libopus...).
    aliases = {"libdav1d": "av1", "libaom-av1": "av1", "libopus": "opus", "libvpx": "vp8",
               "libvpx-vp9": "vp9"}
    return aliases.get(name, name) if name else None


def remux(
    source: Path,
    target: Path,
    format_name: str,
    kinds: Iterable[str] = ("video", "audio"),
    options: dict[str, str] | None = None,
    monotonic: bool = False,
    delays: dict[str, float] | None = None,
) -> dict[str, int]:
    """Copy the first stream of each kind in `kinds` from source into target.

    Returns packets copied per kind. The target is written completely or removed. With
    `monotonic`, a packet stamped no later than the one before it in its stream is moved
    just after it (a browser's recorder rounds to the millisecond and can stamp two frames
    alike); how many were moved is returned as "nudged". `delays` moves every packet of
    a kind later by that many seconds (lip sync of a file whose recorder stamped its sound
    and picture apart).
    """
    wanted = set(kinds)
    packets = dict.fromkeys(wanted, 0)
    try:
        with av.open(str(source)) as src, av.open(
            str(target), "w", format=format_name, options=options or {}
        ) as dst:
            mapping = {}
            for kind, streams in (("video", src.streams.video), ("audio", src.streams.audio)):
                if kind in wanted and streams:
                    # opaque: keep the decoder's codec object; nothing is opened,
                    # packets pass as they are
                    out = dst.add_stream_from_template(streams[0], opaque=True)
                    mapping[streams[0].index] = (kind, out)
            if not mapping:
                raise ValueError(f"{source.name} has no {' or '.join(sorted(wanted))} stream")
            selected = [src.streams[i] for i in mapping]
            last_dts: dict[int, int] = {}
            ticks = {index: round((delays or {}).get(kind, 0.0) / src.streams[index].time_base)
                     for index, (kind, _) in mapping.items()}
            for packet in _packets(src, selected):
                if ticks[packet.stream.index]:
                    _delay(packet, ticks[packet.stream.index])
                if monotonic and packet.dts is not None:
                    before = last_dts.get(packet.stream.index)
                    if before is not None and packet.dts <= before:
                        shift = before + 1 - packet.dts
                        packet.dts += shift
                        if packet.pts is not None:
                            packet.pts += shift
                        packets["nudged"] = packets.get("nudged", 0) + 1
                    last_dts[packet.stream.index] = packet.dts
                kind, out_stream = mapping[packet.stream.index]
                packet.stream = out_stream
                dst.mux(packet)
                packets[kind] += 1
    except BaseException:
        _unlink(target)
        raise
    return packets


def _delay(packet: av.Packet, ticks: int) -> None:
    if packet.dts is not None:
        packet.dts += ticks
    if packet.pts is not None:
        packet.pts += ticks


def _packets(container, streams) -> Iterable[av.Packet]:
    demuxer = container.demux(streams)
    while True:
        try:
            packet = next(demuxer)
        except StopIteration:
            return
        except (av.error.InvalidDataError, av.error.EOFError, av.error.PermissionError) as exc:
            log.info("stopped reading %s at damaged data: %s", container.name, exc)
            return
        if packet.dts is None and packet.pts is None:
            continue  # the demuxer's empty end-of-stream packets
        if packet.size == 0:
            continue
        if packet.is_corrupt:
            continue  # read short: a file cut inside this packet (e.g. an MP4 fragment)
        yield packet


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def replace_atomically(tmp: Path, final: Path, check: Callable[[Path], None] | None = None) -> None:
    if check is not None:
        check(tmp)
    os.replace(tmp, final)
