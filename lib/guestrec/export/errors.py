"""The errors an export raises: what is wrong with the session, in words for the user.

Two refusals carry what they name, so that a button (OBS's panel, the control room) can
say what to do in its own words rather than the command line's."""

from __future__ import annotations


class ExportError(Exception):
    """The session cannot be exported (still recording, a file missing, not a session)."""


class StillRecording(ExportError):
    """The session still records: `busy` names its files (and OBS's recording) still written."""

    def __init__(self, message: str, busy: list[str]) -> None:
        super().__init__(message)
        self.busy = busy


class MissingFiles(ExportError):
    """Files the session's manifest lists are not there: `missing` names them."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
