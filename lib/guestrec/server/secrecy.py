"""Keeping the studio's secrets out of logs, and where the studio keeps its private keys.

The guest token and invites let anyone join and record, the operator key runs the whole
show; logs get pasted into support requests. Logs and messages therefore show them
masked (first characters only); the full guest link and control room link are shown only
where the operator reads them (the OBS script's properties, the serve command's own
"Guest link" and "Control room" lines).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

MIN_TOKEN_CHARS = 16
APP_DIR_NAME = "guest-recorder-obs"


def token_problem(token: str, what: str = "the guest token") -> str | None:
    """Why a chosen token (or key) is refused; None when it is long enough."""
    if token and len(token) < MIN_TOKEN_CHARS:
        return (f"{what} must be at least {MIN_TOKEN_CHARS} characters "
                f"(it has {len(token)}); leave it empty for a random one")
    return None


def masked(token: str) -> str:
    return f"{token[:3]}…" if token else ""


def mask_in(text: str, token: str) -> str:
    return text.replace(token, masked(token)) if token else text


def mask_all(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if secret in text:
            text = mask_in(text, secret)
    return text


class TokenMask(logging.Filter):
    """Masks secrets in every record passing a handler or logger it is attached to: one
    token, or whatever `secrets()` names at the time (invites are made while running)."""

    def __init__(self, token: str | Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = (lambda: (token,)) if isinstance(token, str) else token

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [s for s in self._secrets() if s]
        if secrets:
            message = record.getMessage()
            hidden = mask_all(message, secrets)
            if hidden != message:
                record.msg, record.args = hidden, None
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
