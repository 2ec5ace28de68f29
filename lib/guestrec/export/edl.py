"""CMX 3600 EDL of the session: the first guest's picture on V, every lane's sound on its
own channel (A, A2, A3, ...), at the session's frame rate, non-drop-frame timecode from
00:00:00:00.

Written here rather than by the OTIO CMX adapter, whose writer takes one video track and
at most two audio tracks; its reader reads this file back (the tests do).
"""

from __future__ import annotations

from .layout import AUDIO, VIDEO, ClipPlan, Layout


def timecode(frame: int, rate: float) -> str:
    base = round(rate)
    frames = frame % base
    seconds = frame // base
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frames:02d}"


def audio_channel(index: int) -> str:
    return "A" if index == 0 else f"A{index + 1}"


def write_edl(layout: Layout, title: str) -> str:
    events: list[tuple[int, int, str, ClipPlan]] = []
    videos = [t for t in layout.tracks if t.kind == VIDEO]
    if videos:
        events += [(c.record_in, 0, "V", c) for c in videos[0].clips]
    for index, track in enumerate(t for t in layout.tracks if t.kind == AUDIO):
        events += [(c.record_in, index + 1, audio_channel(index), c) for c in track.clips]
    events.sort(key=lambda e: (e[0], e[1]))
    lines = [f"TITLE: {_plain(title)}", "FCM: NON-DROP FRAME", ""]
    for number, (_, _, channel, clip) in enumerate(events, start=1):
        rate = layout.rate
        lines.append(
            f"{number:03d}  AX       {channel:<5} C        "
            f"{timecode(clip.source_in, rate)} {timecode(clip.source_out, rate)} "
            f"{timecode(clip.record_in, rate)} {timecode(clip.record_out, rate)}")
        lines.append(f"* FROM CLIP NAME: {_plain(clip.media.name)}")
        lines.append(f"* FROM FILE: {_plain(str(clip.media.resolve()))}")
        lines.append("")
    return "\n".join(lines)


def _plain(text: str) -> str:
    """One line of printable text (a guest's name or a path must not break the list)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
