"""The timeline written through OpenTimelineIO's adapters: .otio (native JSON), FCP 7 XML
(otio-fcp-adapter) and FCPXML (otio-fcpx-xml-adapter)."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

ADAPTERS = {"otio": "otio_json", "xml": "fcp_xml", "fcpxml": "fcpx_xml"}


def write_timeline(timeline: otio.schema.Timeline, fmt: str, path: Path) -> None:
    otio.adapters.write_to_file(timeline, str(path), adapter_name=ADAPTERS[fmt])
