"""The export's OpenTimelineIO timeline: one track per lane and kind, clips at their place.

Each clip carries, in its metadata under "guestrec", the file's true place on the session
timeline (seconds, before rounding to a frame), how it was found and where the file came
from (studio, browser, OBS), so a tool reading session.otio can check or refine it.
"""

from __future__ import annotations

import opentimelineio as otio

from .layout import AUDIO, Layout

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def build_timeline(layout: Layout, name: str, spine: bool = False) -> otio.schema.Timeline:
    """Every track runs to the end of the session (a gap after its last clip): FCPXML
    hangs the other tracks' clips on the first video track's items, so that one must span
    the whole session. `spine`: give a session without pictures an empty video track for
    the same reason."""
    rate = layout.rate
    length = layout.length
    timeline = otio.schema.Timeline(name=name, global_start_time=RT(0, rate))
    if spine and not any(plan.kind != AUDIO for plan in layout.tracks):
        track = otio.schema.Track(name="Timeline", kind=otio.schema.TrackKind.Video)
        track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(length, rate))))
        timeline.tracks.append(track)
    for plan in layout.tracks:
        kind = otio.schema.TrackKind.Audio if plan.kind == AUDIO else otio.schema.TrackKind.Video
        track = otio.schema.Track(name=plan.name, kind=kind)
        position = 0
        for clip in plan.clips:
            if clip.record_in > position:
                gap = RT(clip.record_in - position, rate)
                track.append(otio.schema.Gap(source_range=TR(RT(0, rate), gap)))
            total = max(clip.source_out, round(clip.file.probe.duration * rate))
            reference = otio.schema.ExternalReference(
                target_url=clip.media.resolve().as_uri(), available_range=TR(RT(0, rate), RT(total, rate)))
            item = otio.schema.Clip(
                name=clip.media.name, media_reference=reference,
                source_range=TR(RT(clip.source_in, rate), RT(clip.length, rate)))
            item.metadata["guestrec"] = {
                "guest": clip.file.guest, "origin": clip.file.origin, "file": clip.file.path.name,
                "place_seconds": round(clip.place, 4), "placed_by": clip.file.placed_by,
                "status": clip.file.status,
            }
            track.append(item)
            position = clip.record_out
        if length > position:
            track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(length - position, rate))))
        timeline.tracks.append(track)
    return timeline
