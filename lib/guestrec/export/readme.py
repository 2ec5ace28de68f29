"""README.txt of an export: which editor opens which file, and for every guest the file
used, why, and where it sits on the timeline."""

from __future__ import annotations

from .edl import timecode
from .layout import Layout
from .model import Session

EDITORS = {
    "otio": ("session.otio", ("OpenTimelineIO: DaVinci Resolve 18.5 or later (File > Import > Timeline), "
             "Kdenlive 25.04 or later, and other OpenTimelineIO tools.")),
    "xml": ("session.xml", ("Final Cut Pro 7 XML: Adobe Premiere Pro (File > Import), DaVinci Resolve "
            "(File > Import > Timeline).")),
    "fcpxml": ("session.fcpxml", "FCPXML: Final Cut Pro (File > Import > XML)."),
    "kdenlive": ("session.kdenlive", "Kdenlive (File > Open); Shotcut and `melt` read it too."),
    "edl": ("session.edl", ("CMX 3600 EDL, for Avid Media Composer and any editor that imports EDLs: "
            "V is the first guest's picture, A, A2, A3... one sound channel per guest in the order "
            "below; the editor links media by clip name.")),
    "stems": ("stems/", ("One WAV per guest (48 kHz, 24-bit), all the same length, sample 0 = the "
              "session's start: import them all at 0 in Audacity, Reaper, Audition, Pro Tools or "
              "any audio editor.")),
}


def _seconds(value: float, rate: float) -> str:
    sign = "-" if value < 0 else ""
    frame = round(abs(value) * rate)
    return f"{sign}{abs(value):.3f} s ({sign}{timecode(frame, rate)})"


def readme_text(session: Session, layout: Layout, formats: list[str], proxies: bool,
                stems: dict[str, str]) -> str:
    rate = session.frame_rate
    lines = [
        f"Export of {session.name}",
        (f"Session started {session.started.astimezone().isoformat(timespec='milliseconds')}; "
        f"{session.length:.1f} s long; timelines at {rate:g} frames per second, starting at "
        "00:00:00:00 = the session's start."),
        "",
        "WHICH EDITOR OPENS WHICH FILE",
    ]
    for fmt in formats:
        name, text = EDITORS[fmt]
        lines.append(f"  {name:<17} {text}")
    lines.append("")
    if proxies:
        lines += [
            "The XML timelines and the EDL (session.xml, session.fcpxml, session.edl) use the",
            "edit-friendly copies in proxies/ (H.264 + PCM in MOV, the same timing as the",
            "originals). session.otio and session.kdenlive use the original files.",
        ]
    else:
        lines += [
            "Every timeline refers to the original files (WebM/Matroska with VP8/VP9/AV1/H.264",
            "and Opus/PCM), by full path. Kdenlive, Shotcut and DaVinci Resolve read them;",
            "Final Cut Pro does not, and Premiere Pro and Avid may not: export again with",
            "--proxies for edit-friendly copies (H.264 + PCM in MOV) that those timelines use.",
        ]
    lines += [
        "If you move the session folder, the editor asks for the files: point it at the",
        "session folder (the names are unchanged).",
        "",
        "Placement: every timeline puts a file at its measured place rounded to the nearest",
        f"frame (within {500 / rate:.0f} ms); the stems are placed to the sample.",
        "",
        "GUESTS AND THEIR FILES",
    ]
    for lane in session.lanes:
        lines.append(f"  {lane.name}" + (f"  (stem: stems/{stems[lane.name]})" if lane.name in stems else ""))
        lines.append(f"    uses: {lane.reason}")
        for f in lane.files:
            kinds = "+".join(kind for kind, there in (("picture", f.probe.has_video),
                                                     ("sound", f.probe.has_audio)) if there)
            lines.append(f"    - {f.path.name}  [{f.origin}, {f.status}, {kinds}, {f.probe.duration:.1f} s]")
            lines.append(f"      sound at {_seconds(f.audio_start, rate)}"
                         + ("" if abs(f.video_start - f.audio_start) < 1e-4
                            else f", picture at {_seconds(f.video_start, rate)}"))
            lines.append(f"      placed by {f.placed_by}" + (f"; {f.note}" if f.note else ""))
    if session.skipped:
        lines += ["", "NOT IN THE EXPORT"] + [f"  - {text}" for text in session.skipped]
    if session.notes:
        lines += ["", "NOTES"] + [f"  - {text}" for text in session.notes]
    lines += ["", f"Tracks: {', '.join(t.name for t in layout.tracks)}", ""]
    return "\n".join(lines)
