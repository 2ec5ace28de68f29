"""What the studio sends back to its guests (the return feed), as the user set it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

RETURN_VIDEO_MODES = ("off", "grid")
PROGRAM = "program"  # OBS's program picture: only where OBS pushes it (program_picture)


class ReturnSettingsError(ValueError):
    """A return setting that cannot be used; the message says why."""


@dataclass(frozen=True)
class ReturnSettings:
    audio: bool = True  # each guest hears the others and the studio feed, never itself
    video: str = "grid"  # "grid": the guests' pictures side by side, one encode for all
    studio_audio: Path | None = None  # a file looped as the studio's sound
    # The studio's sound pushed in live (PushedFeed: read(count) like StudioFeed), e.g. an
    # OBS audio track; it takes the place of `studio_audio`.
    studio_feed: Any = None
    program_picture: Any = None  # PushedPicture: OBS's program, for video "program"

    def __post_init__(self) -> None:
        if self.video == PROGRAM and self.program_picture is None:
            raise ReturnSettingsError("return video 'program' is OBS's picture: it works inside OBS only; "
                                      f"use one of {', '.join(RETURN_VIDEO_MODES)}")
        if self.video not in (*RETURN_VIDEO_MODES, PROGRAM):
            raise ReturnSettingsError(
                f"return video must be one of {', '.join(RETURN_VIDEO_MODES)}, not {self.video!r}")

    @property
    def enabled(self) -> bool:
        return self.audio or self.video != "off"
