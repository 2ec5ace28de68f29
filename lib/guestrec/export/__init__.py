"""Export a recorded session for editing: a timeline for every editor (OpenTimelineIO,
FCPXML, FCP 7 XML, Kdenlive, CMX 3600 EDL), one aligned WAV stem per guest, optional
edit-friendly proxies, and a README.txt saying which editor opens which file.

    exporter        the export of one session folder, written whole or not at all
    session_reader  the folder read back: manifest, sidecars, files; refusals
    model           what an export works from: the session, its lanes and files
    placement       where a file's time 0 falls on the session timeline
    best_file       which of a guest's recordings an editor should use, and why
    file_probe      what a media file holds and how long it lasts, read from the file
    layout          the clips of every track, in whole frames
    timeline        the OpenTimelineIO timeline; formats writes it as .otio, FCPXML, FCP 7 XML
    formats         the timeline through OpenTimelineIO's adapters
    kdenlive        the Kdenlive project (MLT XML), written directly
    edl             the CMX 3600 EDL: a sound channel per guest
    stems           one WAV per lane, all the same length from the session's start
    wav_writer      a 24-bit WAV written as it goes
    proxies         edit-friendly H.264 + PCM copies in MOV
    proxy_set       the proxies an export needs
    readme          README.txt: which editor opens which file, which file of each guest
    errors          the error an export raises, in words for the user
    background_export  the export a button starts: the last session, one at a time, in a
                    thread, its progress as lines (OBS's panel and the control room)

The exporter (PyAV, OpenTimelineIO) is imported on first use, so that the engine can hold
a background_export without loading it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ExportError

_LAZY = {"FORMATS": "exporter", "ExportResult": "exporter", "export_session": "exporter",
         "parse_formats": "exporter"}

__all__ = ["FORMATS", "ExportError", "ExportResult", "export_session", "parse_formats"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
