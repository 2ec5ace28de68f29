"""The JSON beside every recording (same stem, .json): what was asked, what was written.

The file is created when the recording starts, padded with spaces to a fixed size, and
later rewritten in place. A disk that fills up during the recording therefore still takes
the final summary with its error: no new blocks are needed for it. The final write drops
the padding (truncating frees blocks, it needs none).

A recording keeps its sidecar open (`SidecarFile`), so the final summary also lands when
the folder became read-only meanwhile (a read-only mount over it): the open file is still
the one beside the media.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .positioned_file import PositionedFile

RESERVED_BYTES = 16 * 1024


def sidecar_path(media: Path) -> Path:
    return Path(media).with_suffix(".json")


def parse_time(text: object) -> datetime | None:
    """A moment as sidecars and manifests write it (ISO 8601; UTC when no zone); None
    when absent or not a moment."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_sidecar(media: Path, summary: dict, final: bool = False) -> bool:
    """Write or rewrite the sidecar; False if it could not be written (disk full...)."""
    path = sidecar_path(media)
    text = _encoded(summary, final)
    try:
        with PositionedFile(path, create=True) as f:
            f.write_at(0, text)
            f.truncate(len(text))
        return True
    except OSError:
        return False


def read_sidecar(media: Path) -> dict:
    return json.loads(sidecar_path(media).read_text(encoding="utf-8"))


def bitrate_kbps(byte_count: int, seconds: float) -> float | None:
    if seconds <= 0:
        return None
    return round(byte_count * 8 / seconds / 1000, 1)


def _encoded(summary: dict, final: bool) -> bytes:
    text = json.dumps(summary, indent=2, sort_keys=False, default=str).encode("utf-8") + b"\n"
    if not final and len(text) < RESERVED_BYTES:
        text = text + b" " * (RESERVED_BYTES - len(text) - 1) + b"\n"
    return text


class SidecarFile:
    """A recording's sidecar, open for the recording's life. OSError if it cannot be made
    (a full disk: its reserved size does not fit)."""

    def __init__(self, media: Path, summary: dict) -> None:
        self.path = sidecar_path(media)
        self._file: PositionedFile | None = PositionedFile(self.path, create=True, truncate=True)
        try:
            self._rewrite(_encoded(summary, final=False))
        except OSError:
            self.close()
            self.path.unlink(missing_ok=True)
            raise

    def _rewrite(self, text: bytes) -> None:
        assert self._file is not None
        self._file.write_at(0, text)
        self._file.truncate(len(text))

    def write(self, summary: dict, final: bool = False) -> bool:
        """Rewrite in place; False if it could not be written."""
        if self._file is None:
            return write_sidecar(self.path.with_suffix(".media"), summary, final)
        try:
            self._rewrite(_encoded(summary, final))
            return True
        except OSError:
            return False
        finally:
            if final:
                self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def link_next_file(media: Path, next_file: str) -> bool:
    """Name the file that continues a finished recording's take in its sidecar (the guest
    reconnected and its recording went on in `next_file`); False if it could not."""
    try:
        summary = read_sidecar(media)
    except (OSError, ValueError):
        return False
    take = summary.setdefault("take", {})
    if not isinstance(take, dict):
        return False
    take["next_file"] = next_file
    return write_sidecar(media, summary, final=True)
