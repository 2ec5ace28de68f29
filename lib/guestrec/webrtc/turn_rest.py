"""Short-lived TURN credentials from a shared secret (coturn's "TURN REST API").

coturn, started with `use-auth-secret` and `static-auth-secret=SECRET`, accepts any
username of the form `<expiry unix time>:<anything>` whose password is
base64(HMAC-SHA1(SECRET, username)), until that expiry. The studio keeps the secret and
hands out only such pairs, so a guest link never carries a lasting TURN password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

# Long enough for a show, short enough that a leaked pair soon stops working.
DEFAULT_TTL_S = 4 * 3600
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
_MAX_LABEL = 48


@dataclass(frozen=True)
class TurnCredential:
    username: str
    password: str
    expires: int  # unix time


def user_label(guest: str) -> str:
    """The guest part of a username: ASCII letters, digits, `_.-` only (coturn splits the
    username at its first ':', and a TURN username travels inside STUN attributes)."""
    label = _UNSAFE.sub("-", guest).strip("-")[:_MAX_LABEL]
    return label or "guest"


def mint(secret: str, guest: str, ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> TurnCredential:
    """A username/password pair valid for `ttl_s` seconds from `now`."""
    if not secret:
        raise ValueError("the TURN secret is empty")
    if ttl_s <= 0:
        raise ValueError("the TURN credential lifetime must be positive")
    expires = int(now if now is not None else time.time()) + int(ttl_s)
    username = f"{expires}:{user_label(guest)}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires)
