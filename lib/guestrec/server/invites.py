"""Invites: a guest link of its own for one guest, bound to that guest's name, optionally
expiring, revocable, usable by one connection at a time.

An invite's credential is looked up by its SHA-256 (a dict, so a thousand invites cost a
join nothing, and a lookup leaks no timing about how much of a guess was right). The
credential itself is kept too, so the operator can copy the link again; with a store
file the invites outlive a restart (the file is the user's only, like the TLS keys).
Thread-safe: OBS's UI thread makes invites while the loop checks them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..common.names import display_name

log = logging.getLogger(__name__)

MAX_INVITES = 10_000
MAX_EXPIRES_S = 366 * 24 * 3600


class InviteError(ValueError):
    """An invite that cannot be made as asked; the message is meant for the user."""


@dataclass
class Invite:
    id: str
    name: str
    token: str
    created: float
    expires_at: float | None = None
    revoked: bool = False
    guest: str | None = None  # the name its last guest came in under
    joins: int = 0
    last_join: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def state(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if self.expired(now):
            return "expired"
        return "used" if self.joins else "unused"


def _seconds_ok(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 < value <= MAX_EXPIRES_S)


def invite_link(base_url: str, invite: Invite) -> str:
    """The guest page with the invite's credential, and its name filled in."""
    return f"{base_url}/?token={invite.token}&name={quote(invite.name, safe='')}"


def digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode("utf-8")).digest()


class Invites:
    def __init__(self, store: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._by_id: dict[str, Invite] = {}
        self._by_digest: dict[bytes, Invite] = {}
        if store is not None:
            self._load(store)

    def now(self) -> float:
        return self._clock()

    def make(self, name: str, expires_s: float | None = None) -> Invite:
        """A new invite for `name`, valid for `expires_s` seconds (None: until revoked)."""
        if expires_s is not None and not _seconds_ok(expires_s):
            raise InviteError(f"expires_s must be a number of seconds from 1 to {MAX_EXPIRES_S}")
        if not isinstance(name, str) or not name.strip():
            raise InviteError("an invite needs the guest's name")
        now = self._clock()
        with self._lock:
            if len(self._by_id) >= MAX_INVITES:
                raise InviteError(f"at most {MAX_INVITES} invites; revoke old ones first")
            invite_id = secrets.token_hex(5)
            while invite_id in self._by_id:
                invite_id = secrets.token_hex(5)
            invite = Invite(id=invite_id, name=display_name(name), token=secrets.token_urlsafe(24),
                            created=now, expires_at=now + expires_s if expires_s else None)
            self._add(invite)
            self._save()
        return invite

    def _add(self, invite: Invite) -> None:
        self._by_id[invite.id] = invite
        self._by_digest[digest(invite.token)] = invite

    def find(self, credential: str) -> Invite | None:
        """The invite with this credential, revoked and expired ones included."""
        with self._lock:
            return self._by_digest.get(digest(credential))

    def get(self, invite_id: str) -> Invite | None:
        with self._lock:
            return self._by_id.get(invite_id)

    def all(self) -> list[Invite]:
        with self._lock:
            return list(self._by_id.values())

    def tokens(self) -> list[str]:
        with self._lock:
            return [invite.token for invite in self._by_id.values()]

    def revoke(self, invite_id: str) -> Invite | None:
        """The invite, revoked from now on (its next offer is refused); None if unknown."""
        with self._lock:
            invite = self._by_id.get(invite_id)
            if invite is not None and not invite.revoked:
                invite.revoked = True
                self._save()
            return invite

    def note_join(self, invite_id: str, guest: str) -> None:
        with self._lock:
            invite = self._by_id.get(invite_id)
            if invite is not None:
                invite.guest, invite.joins, invite.last_join = guest, invite.joins + 1, self._clock()
                self._save()

    # -- the store file --------------------------------------------------------------

    def _load(self, store: Path) -> None:
        try:
            rows = json.loads(store.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("invites in %s not read (%s); starting without them", store, exc)
            return
        for row in rows if isinstance(rows, list) else []:
            try:
                self._add(Invite(**row))
            except TypeError:
                continue

    def _save(self) -> None:
        """Written whole to a temporary file, then moved over the old one (under the lock)."""
        if self._store is None:
            return
        rows: list[dict[str, Any]] = [asdict(invite) for invite in self._by_id.values()]
        temporary = self._store.with_name(self._store.name + ".tmp")
        try:
            self._store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
            with os.fdopen(os.open(temporary, flags, 0o600), "wb") as out:
                out.write(json.dumps(rows).encode("utf-8"))
            os.replace(temporary, self._store)
        except OSError as exc:
            log.warning("invites not saved to %s: %s", self._store, exc.strerror or exc)
