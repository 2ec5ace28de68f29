"""Read an exported timeline back through OpenTimelineIO's own adapters, for tests:
where each clip of each file begins on the session timeline, in seconds.

    clip_starts(path, "fcp_xml") -> {("video" | "audio", "Ann ... .webm"): [12.5, ...]}

The start is where the file's time 0 falls: the clip's place minus the part of the file
trimmed off its head.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}


def read_back(path: Path, rate: float = 30.0) -> otio.schema.Timeline:
    adapter = ADAPTERS[path.suffix]
    extra = {"rate": rate} if adapter == "cmx_3600" else {}
    result = otio.adapters.read_from_file(str(path), adapter_name=adapter, **extra)
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        result = timelines[0]
    return result


def _media_name(clip: otio.schema.Clip) -> str:
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    if url:
        return Path(unquote(urlparse(url).path) if "://" in url else url).name
    return clip.name


def clip_starts(path: Path, rate: float = 30.0) -> dict[tuple[str, str], list[float]]:
    timeline = read_back(path, rate)
    found: dict[tuple[str, str], list[float]] = {}
    for track in timeline.tracks:
        kind = "audio" if track.kind == otio.schema.TrackKind.Audio else "video"
        # An EDL's track begins at its first record time; others at 0.
        origin = -track.source_range.start_time.to_seconds() if track.source_range else 0.0
        for clip in track.find_clips():
            place = clip.range_in_parent().start_time.to_seconds() + origin
            start = place - clip.source_range.start_time.to_seconds()
            found.setdefault((kind, _media_name(clip)), []).append(round(start, 4))
    return found
