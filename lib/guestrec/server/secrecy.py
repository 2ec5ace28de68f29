"""Keeping the guest token out of logs, and where the studio keeps its private keys.

The token lets anyone join and record; logs get pasted into support requests. Logs and
messages therefore show it masked (first characters only); the full guest link is shown
only where the operator reads it (the OBS script's properties, the serve command's own
"Guest link" line).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

MIN_TOKEN_CHARS = 16
APP_DIR_NAME = "guest-recorder-obs"


def token_problem(token: str) -> str | None:
    """Why a chosen token is refused; None when it is long enough."""
    if token and len(token) < MIN_TOKEN_CHARS:
        return (f"the guest token must be at least {MIN_TOKEN_CHARS} characters "
                f"(it has {len(token)}); leave it empty for a random one")
    return None


def masked(token: str) -> str:
    return f"{token[:3]}…" if token else ""


def mask_in(text: str, token: str) -> str:
    return text.replace(token, masked(token)) if token else text


class TokenMask(logging.Filter):
    """Masks the token in every record passing a handler or logger it is attached to."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = mask_in(message, self.token), None
        return True


def config_dir() -> Path:
    """The user's configuration folder for the studio ($XDG_CONFIG_HOME/guest-recorder-obs)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR_NAME


def private_dir(name: str) -> Path:
    """A folder under config_dir() that only the user can enter (mode 0700)."""
    path = config_dir() / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
