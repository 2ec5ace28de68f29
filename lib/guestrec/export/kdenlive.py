"""Kdenlive project (MLT XML) of the session, written directly.

OTIO's Kdenlive adapter is deprecated and adds no mix transitions; MLT mixes the sound of
tracks only where a "mix" transition joins them, so without them a render has one guest's
voice. Here every track is joined to the black base track by a summing mix (sound) and
the video tracks by a blend, as Kdenlive itself does, so a render (Kdenlive or `melt`)
has every guest. The document uses Kdenlive's per-track tractors (two playlists each) and
document version 1.0, which newer Kdenlive versions upgrade when they open it.

Each track gets its own producer of a file, with the other kind switched off
(audio_index / video_index -1): the sound tracks do not decode pictures.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

from .layout import AUDIO, Layout, TrackPlan

DOC_VERSION = "1.0"


def frame_rate_fraction(rate: float) -> Fraction:
    for ntsc in (24, 30, 48, 60):
        if abs(rate - ntsc * 1000 / 1001) < 0.01:
            return Fraction(ntsc * 1000, 1001)
    return Fraction(rate).limit_denominator(1001)


def write_kdenlive(layout: Layout, title: str, size: tuple[int, int] = (1920, 1080)) -> str:
    length = max(1, layout.length)
    rate = frame_rate_fraction(layout.rate)
    mlt = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "title": title, "producer": "main_bin"})
    width, height = size
    ET.SubElement(mlt, "profile", {
        "description": f"{width}x{height} {float(rate):.3g} fps", "width": str(width), "height": str(height),
        "progressive": "1", "sample_aspect_num": "1", "sample_aspect_den": "1",
        "display_aspect_num": str(width), "display_aspect_den": str(height),
        "frame_rate_num": str(rate.numerator), "frame_rate_den": str(rate.denominator), "colorspace": "709",
    })
    bin_ids = _bin_producers(mlt, layout)
    main_bin = ET.SubElement(mlt, "playlist", {"id": "main_bin"})
    _prop(main_bin, "kdenlive:docproperties.version", DOC_VERSION)
    _prop(main_bin, "kdenlive:docproperties.decimalPoint", ".")
    _prop(main_bin, "xml_retain", "1")
    for producer_id, kdenlive_id, total in bin_ids.values():
        entry = ET.SubElement(main_bin, "entry", {"producer": producer_id, "in": "0", "out": str(total - 1)})
        _prop(entry, "kdenlive:id", kdenlive_id)

    black = ET.SubElement(mlt, "producer", {"id": "black_track", "in": "0", "out": str(length - 1)})
    for name, value in (("length", str(length)), ("eof", "continue"), ("resource", "black"),
                        ("aspect_ratio", "1"), ("mlt_service", "color"), ("set.test_audio", "0")):
        _prop(black, name, value)

    # Kdenlive lists sound tracks first (bottom), pictures above; the first guest's on top.
    ordered = [t for t in layout.tracks if t.kind == AUDIO]
    ordered += list(reversed([t for t in layout.tracks if t.kind != AUDIO]))
    tractor_ids = [_track_tractor(mlt, index, track, bin_ids, length) for index, track in enumerate(ordered)]

    main = ET.SubElement(mlt, "tractor", {"id": "maintractor", "global_feed": "1", "in": "0",
                                          "out": str(length - 1)})
    ET.SubElement(main, "track", {"producer": "black_track"})
    for tractor_id in tractor_ids:
        ET.SubElement(main, "track", {"producer": tractor_id})
    for index, track in enumerate(ordered, start=1):
        _transition(main, f"mix{index}", index, "mix", {"sum": "1", "accepts_blanks": "1"})
        if track.kind != AUDIO:
            _transition(main, f"blend{index}", index, "qtblend", {"compositing": "0"})
    ET.indent(mlt)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(mlt, encoding="unicode") + "\n"


def _bin_producers(mlt: ET.Element, layout: Layout) -> dict:
    """One bin clip per file used: path -> (producer id, kdenlive id, frames)."""
    found: dict = {}
    for track in layout.tracks:
        for clip in track.clips:
            if clip.media in found:
                continue
            kdenlive_id = str(len(found) + 2)  # Kdenlive keeps 1 for its own folder
            total = max(clip.source_out, round(clip.file.probe.duration * layout.rate))
            producer = ET.SubElement(mlt, "producer", {"id": f"producer{kdenlive_id}", "in": "0",
                                                       "out": str(total - 1)})
            probe = clip.file.probe
            clip_type = "0" if probe.has_video and probe.has_audio else ("2" if probe.has_video else "1")
            for name, value in (("length", str(total)), ("eof", "pause"),
                                ("resource", str(clip.media.resolve())),
                                ("mlt_service", "avformat"), ("seekable", "1"),
                                ("kdenlive:clipname", clip.media.name), ("kdenlive:id", kdenlive_id),
                                ("kdenlive:clip_type", clip_type)):
                _prop(producer, name, value)
            found[clip.media] = (producer.get("id"), kdenlive_id, total)
    return found


def _track_tractor(mlt: ET.Element, index: int, track: TrackPlan, bin_ids: dict, length: int) -> str:
    is_audio = track.kind == AUDIO
    entries = []  # MLT needs a producer defined before a playlist names it
    for number, clip in enumerate(track.clips):
        producer_id, kdenlive_id, total = bin_ids[clip.media]
        own = f"{producer_id}_t{index}_{number}"
        producer = ET.SubElement(mlt, "producer", {"id": own, "in": "0", "out": str(total - 1)})
        for name, value in (("length", str(total)), ("eof", "pause"), ("resource", str(clip.media.resolve())),
                            ("mlt_service", "avformat"), ("seekable", "1"), ("kdenlive:id", kdenlive_id),
                            ("video_index" if is_audio else "audio_index", "-1")):
            _prop(producer, name, value)
        entries.append((own, kdenlive_id, clip))
    playlist = ET.SubElement(mlt, "playlist", {"id": f"playlist{2 * index}"})
    if is_audio:
        _prop(playlist, "kdenlive:audio_track", "1")
    position = 0
    for own, kdenlive_id, clip in entries:
        if clip.record_in > position:
            ET.SubElement(playlist, "blank", {"length": str(clip.record_in - position)})
        entry = ET.SubElement(playlist, "entry", {"producer": own, "in": str(clip.source_in),
                                                  "out": str(clip.source_out - 1)})
        _prop(entry, "kdenlive:id", kdenlive_id)
        position = clip.record_out
    ET.SubElement(mlt, "playlist", {"id": f"playlist{2 * index + 1}"})  # Kdenlive's second lane
    tractor = ET.SubElement(mlt, "tractor", {"id": f"tractor{index}", "in": "0", "out": str(length - 1)})
    _prop(tractor, "kdenlive:track_name", track.name)
    if is_audio:
        _prop(tractor, "kdenlive:audio_track", "1")
    hide = "video" if is_audio else "audio"
    for lane in (2 * index, 2 * index + 1):
        ET.SubElement(tractor, "track", {"producer": f"playlist{lane}", "hide": hide})
    return tractor.get("id") or ""


def _transition(main: ET.Element, ident: str, b_track: int, service: str, extra: dict[str, str]) -> None:
    transition = ET.SubElement(main, "transition", {"id": ident})
    for name, value in (("a_track", "0"), ("b_track", str(b_track)), ("mlt_service", service),
                        ("kdenlive_id", "mix" if service == "mix" else service),
                        ("internal_added", "237"), ("always_active", "1"), *extra.items()):
        _prop(transition, name, value)


def _prop(element: ET.Element, name: str, value: str) -> None:
    ET.SubElement(element, "property", {"name": name}).text = value
