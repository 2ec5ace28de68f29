"""The one error an export raises: what is wrong with the session, in words for the user."""

from __future__ import annotations


class ExportError(Exception):
    """The session cannot be exported (still recording, a file missing, not a session)."""
