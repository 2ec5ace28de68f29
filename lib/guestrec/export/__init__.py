"""Export a recorded session for editing: a timeline for every editor (OpenTimelineIO,
FCPXML, FCP 7 XML, Kdenlive, CMX 3600 EDL), one aligned WAV stem per guest, optional
edit-friendly proxies, and a README.txt saying which editor opens which file."""

from .errors import ExportError
from .exporter import FORMATS, ExportResult, export_session, parse_formats

__all__ = ["FORMATS", "ExportError", "ExportResult", "export_session", "parse_formats"]
