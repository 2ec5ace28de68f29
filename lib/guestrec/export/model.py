"""What an export works from: the session, its files placed on the session's timeline,
and one lane (track pair) per guest and for OBS's own recording.

A file's place is where its time 0 falls on the session timeline, in seconds after the
session's `started` (negative when the file began before it). Video and audio of one file
may sit a little apart (a browser's recorder stamps them differently), so each has its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STUDIO, BROWSER, OBS = "studio", "browser", "obs"


@dataclass(frozen=True)
class Probe:
    """What the file itself holds (read with PyAV, not taken from the sidecar)."""

    duration: float
    has_video: bool
    has_audio: bool
    first_time: float = 0.0  # the file's first timestamp: editors show that instant as its start
    frame_rate: float | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


@dataclass
class SourceFile:
    path: Path
    origin: str  # STUDIO, BROWSER or OBS
    guest: str | None  # None for OBS's recording
    status: str  # complete, incomplete, failed, repaired...
    audio_start: float  # session seconds of the file's time 0, by its sound
    video_start: float  # ... by its picture
    placed_by: str  # how that place was found, for README.txt
    probe: Probe
    note: str = ""  # anything the editor should know about this file
    sidecar: dict = field(default_factory=dict, repr=False)

    @property
    def start(self) -> float:
        return min(self.audio_start, self.video_start)

    @property
    def end(self) -> float:
        return max(self.audio_start, self.video_start) + self.probe.duration


@dataclass
class Lane:
    """One guest (or OBS): the files the export uses, in time order, and why those."""

    name: str
    files: list[SourceFile]
    reason: str
    is_obs: bool = False
    stem_name: str = ""  # file name of its stem, unique in the export

    @property
    def has_video(self) -> bool:
        return any(f.probe.has_video for f in self.files)

    @property
    def has_audio(self) -> bool:
        return any(f.probe.has_audio for f in self.files)

    @property
    def channels(self) -> int:
        counts = [f.probe.channels or 1 for f in self.files if f.probe.has_audio]
        return min(2, max(counts, default=1))


@dataclass
class Session:
    folder: Path
    name: str
    started: datetime
    ended: datetime | None
    frame_rate: float
    lanes: list[Lane]  # guests first (in order of first appearance), then OBS
    notes: list[str] = field(default_factory=list)  # session-wide remarks for README.txt
    skipped: list[str] = field(default_factory=list)  # files not used, and why

    @property
    def length(self) -> float:
        """Seconds from the session's start to the end of its last file."""
        return max((f.end for lane in self.lanes for f in lane.files), default=0.0)
