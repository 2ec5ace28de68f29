"""VDO.Ninja's names on the wire: room and stream ids, the password, their hashes.

A room and a stream id are hashed with the password and a salt before they reach the
handshake server, so the server never learns them; the data channel carries plain ids.
With the password switched off, ids travel in plain text and nothing is encrypted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_PASSWORD = "someEncryptionKey123"
DEFAULT_SALT = "vdo.ninja"  # what the app uses on vdo.ninja and on IP addresses/localhost
PASSWORD_OFF_WORDS = ("false", "0", "off", "no")
MAX_ROOM_CHARS = 30
MAX_STREAM_CHARS = 44  # of the plain id kept before the hash suffix
STREAM_SUFFIX_CHARS = 6
ROOM_HASH_CHARS = 16
_NON_WORD = re.compile(r"[^A-Za-z0-9_]")  # JavaScript's \W: ASCII word characters only
# encodeURIComponent leaves these unescaped; everything else becomes %XX of its UTF-8.
_URI_COMPONENT_SAFE = "-_.!~*'()"


def short_hash(text: str, chars: int) -> str:
    """Lower-case hex SHA-256 of the UTF-8 text, cut to `chars`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


def clean_id(raw: str) -> str:
    """A room or stream id as the app writes it: word characters kept, others `_`."""
    return _NON_WORD.sub("_", raw.strip())


def room_name(raw: str) -> str:
    """The room's name as the app uses it; ValueError when nothing is left of it."""
    name = clean_id(raw)[:MAX_ROOM_CHARS]
    if not name.strip("_"):
        raise ValueError(f"not a usable VDO.Ninja room name: {raw!r}")
    return name


def room_password(raw: str | bool | None) -> str | None:
    """The password the app hashes and encrypts with; None when switched off.

    None or "" means VDO.Ninja's default; False or "false"/"0"/"off" switches it off; a
    custom one is trimmed and URI-encoded as the app does (a space becomes %20).
    """
    if raw is False:
        return None
    if raw is None or raw is True:
        return DEFAULT_PASSWORD
    text = str(raw).strip()
    if not text:
        return DEFAULT_PASSWORD
    if text.lower() in PASSWORD_OFF_WORDS:
        return None
    return quote(text, safe=_URI_COMPONENT_SAFE)


@dataclass(frozen=True)
class RoomKeys:
    """Everything that turns plain names into wire names for one room."""

    room: str  # cleaned, see room_name
    password: str | None  # as returned by room_password; None = no hashing, no encryption
    salt: str = DEFAULT_SALT
    token: str = ""

    @classmethod
    def make(cls, room: str, password: str | bool | None = None, salt: str = DEFAULT_SALT) -> RoomKeys:
        return cls(room=room_name(room), password=room_password(password), salt=salt)

    @property
    def encrypted(self) -> bool:
        return self.password is not None

    @property
    def wire_room(self) -> str:
        if self.password is None:
            return self.room
        return short_hash(self.room + self.password + self.salt + self.token, ROOM_HASH_CHARS)

    @property
    def stream_suffix(self) -> str:
        if self.password is None:
            return ""
        return short_hash(self.password + self.salt, STREAM_SUFFIX_CHARS)

    def wire_stream(self, stream_id: str) -> str:
        return clean_id(stream_id)[:MAX_STREAM_CHARS] + self.stream_suffix

    def plain_stream(self, wire_id: str) -> str:
        """The stream id a guest chose, from its wire form (unchanged if not ours)."""
        suffix = self.stream_suffix
        if suffix and wire_id.endswith(suffix) and len(wire_id) > len(suffix):
            return wire_id[: -len(suffix)]
        return wire_id

    @property
    def key(self) -> bytes | None:
        """The AES-256 key of the room's messages, None when encryption is off."""
        if self.password is None:
            return None
        return hashlib.sha256((self.password + self.salt).encode("utf-8")).digest()
