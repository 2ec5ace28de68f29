"""Where a file's time 0 falls on the session timeline, from its sidecar (pure functions).

Studio files: the sidecar's `media_start_utc` is the instant of the file's first media by
the media's own timing (the first frame's arrival, with audio and video related through
the guest's RTCP sender reports). Recordings made before that field existed have only
`start_utc`, the moment the file was opened, which comes after the frames held while the
guest's timeline settled (about 1.1-1.5 s late): used, and said so, when nothing better is
there.

Browser files: the studio measured where the guest's file sits against its own recording
of the guest (`studio_offset`: audio cross-correlation, picture by brightness changes),
so their place follows from the studio file's. Without that, the page's clock report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..media.sidecar import parse_time


@dataclass(frozen=True)
class Place:
    audio: float  # session seconds of the file's time 0, by its sound
    video: float  # ... by its picture
    how: str
    exact: bool = True  # False: only good to a second or so (README.txt says so)


def studio_place(sidecar: dict, started: datetime) -> Place | None:
    media = parse_time(sidecar.get("media_start_utc"))
    if media is not None:
        seconds = (media - started).total_seconds()
        return Place(seconds, seconds, "the first frame's arrival at the studio (RTP/RTCP timing)")
    opened = parse_time(sidecar.get("start_utc"))
    if opened is not None:
        seconds = (opened - started).total_seconds()
        return Place(seconds, seconds, "when the studio opened the file (a recording without media "
                     "timing: its sound and picture may begin up to 1.5 s earlier)", exact=False)
    return None


def browser_place(sidecar: dict, started: datetime, studio_starts: dict[str, float]) -> Place | None:
    """`studio_starts`: file name -> session seconds of the studio files' time 0."""
    offset = sidecar.get("studio_offset")
    if isinstance(offset, dict) and isinstance(offset.get("seconds"), int | float):
        base = studio_starts.get(str(offset.get("studio_file")))
        if base is not None:
            audio = base + float(offset["seconds"])
            picture = offset.get("video_seconds")
            video = base + float(picture) if isinstance(picture, int | float) else audio
            method = offset.get("method") or "the studio's measurement"
            exact = method != "clocks"
            return Place(audio, video, f"matched against the studio's recording ({method})", exact)
    media = parse_time(sidecar.get("media_start_utc"))
    if media is not None:
        seconds = (media - started).total_seconds()
        return Place(seconds, seconds, "the studio's measured offset", exact=True)
    times = sidecar.get("page_times")
    if isinstance(times, dict):
        began, skew = times.get("recorder_started_ms"), times.get("page_minus_studio_ms")
        if isinstance(began, int | float) and isinstance(skew, int | float):
            seconds = (began - skew) / 1000.0 - started.timestamp()
            return Place(seconds, seconds, "the guest page's clock (good to a few hundred ms)", exact=False)
    return None


def obs_place(run: dict) -> Place | None:
    start = run.get("start_seconds")
    if not isinstance(start, int | float):
        return None
    # Not measured from the media: OBS's file begins about when its event fires.
    return Place(float(start), float(start), "OBS's recording-started event", exact=False)
