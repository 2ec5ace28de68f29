"""The clips of every track, in whole frames at the session's frame rate (pure).

Every editor format places clips on frame boundaries, so a file's place is rounded to the
nearest frame: within half a frame of its true place. A file that began before the session
is trimmed at 0; a file that overlaps the one before it on its track (a split's seam, a
quick reconnect) cuts the earlier one short, so the later file starts where it belongs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .model import Lane, Session, SourceFile

VIDEO, AUDIO = "video", "audio"


@dataclass
class ClipPlan:
    file: SourceFile
    record_in: int  # frame on the session timeline where the clip begins
    source_in: int  # frame of the file shown there (0 unless trimmed)
    length: int  # frames
    place: float  # true session seconds of the file's first timestamp (not rounded)
    media: Path  # the file the editor opens (the original, or its proxy)

    @property
    def record_out(self) -> int:
        return self.record_in + self.length

    @property
    def source_out(self) -> int:
        return self.source_in + self.length


@dataclass
class TrackPlan:
    name: str
    kind: str  # VIDEO or AUDIO
    lane: Lane
    clips: list[ClipPlan] = field(default_factory=list)


@dataclass
class Layout:
    rate: float
    tracks: list[TrackPlan]  # per lane: its video track (if any), then its audio track

    @property
    def length(self) -> int:
        return max((c.record_out for t in self.tracks for c in t.clips), default=0)


def plan_layout(session: Session, media_for: dict[Path, Path] | None = None) -> Layout:
    """`media_for`: original -> file to reference instead (proxies)."""
    media_for = media_for or {}
    tracks = []
    for lane in session.lanes:
        if lane.has_video:
            tracks.append(_track(lane, VIDEO, session.frame_rate, media_for))
        if lane.has_audio:
            tracks.append(_track(lane, AUDIO, session.frame_rate, media_for))
    return Layout(session.frame_rate, [t for t in tracks if t.clips])


def _track(lane: Lane, kind: str, rate: float, media_for: dict[Path, Path]) -> TrackPlan:
    name = f"{lane.name} video" if kind == VIDEO else lane.name
    track = TrackPlan(name, kind, lane)
    wanted = [f for f in lane.files if (f.probe.has_video if kind == VIDEO else f.probe.has_audio)]
    for f in sorted(wanted, key=lambda f: _place(f, kind)):
        place = _place(f, kind)
        total = max(1, round(f.probe.duration * rate))
        record_in, source_in = round(place * rate), 0
        if record_in < 0:
            source_in, record_in = -record_in, 0
        while track.clips and record_in < track.clips[-1].record_out:
            before = track.clips[-1]
            before.length = record_in - before.record_in
            if before.length > 0:
                break
            track.clips.pop()
        length = total - source_in
        if length > 0:
            media = media_for.get(f.path, f.path)
            track.clips.append(ClipPlan(f, record_in, source_in, length, place, media))
    return track


def _place(f: SourceFile, kind: str) -> float:
    return (f.video_start if kind == VIDEO else f.audio_start) + f.probe.first_time
