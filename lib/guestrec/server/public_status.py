"""A guest's status as the HTTP API shows it: no secrets (the WHIP session id ends the
guest's session), no network addresses, and the server's folders cut to file names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_PRIVATE_KEYS = {"session_id", "ice_pair_detail"}
_PATH_KEYS = {"file", "session_folder"}  # shown by name only


def public_status(status: dict[str, Any]) -> dict[str, Any]:
    """No private keys, paths cut to their names, also inside nested parts (e.g. the
    guest-side recording's file)."""
    public = {}
    for key, value in status.items():
        if key in _PRIVATE_KEYS:
            continue
        if key in _PATH_KEYS and isinstance(value, str) and value:
            value = Path(value).name
        elif isinstance(value, dict):
            value = public_status(value)
        public[key] = value
    return public
