"""What the studio sets for a VDO.Ninja room, and a pasted VDO.Ninja link read into it.

Pure data (no aiortc), so the engine and the OBS script may import it cheaply.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .names import DEFAULT_SALT, room_name, room_password

DEFAULT_SERVER = "wss://wss.vdo.ninja:443"
HOSTED = "hosted"
RELAY = "relay"
AUTO = "auto"  # hosted first; the relay dialect if the server refuses hosted messages
DIALECT_CHOICES = (AUTO, HOSTED, RELAY)
_ROOM_KEYS = ("room", "r", "roomid", "director", "dir")
_PASSWORD_KEYS = ("password", "pass", "pw", "p")
_NO_PASSWORD_KEYS = ("nopassword", "nopass", "nopw", "p0")
_VIEW_KEYS = ("view", "v", "pull", "streamid")


class VdoSettingsError(ValueError):
    """Settings of a VDO.Ninja room that cannot work; the message says why."""


@dataclass(frozen=True)
class VdoSettings:
    room: str
    password: str | bool | None = None  # None: VDO.Ninja's default; False: switched off
    server: str = DEFAULT_SERVER
    dialect: str = AUTO
    streams: tuple[str, ...] = ()  # only these stream ids; empty: every publisher
    director: bool = False  # also start/stop each guest's own recording
    salt: str = DEFAULT_SALT
    extra_ca: Path | None = None  # a CA to trust besides the system's (self-hosted server)
    ice_servers: tuple[Any, ...] | None = field(default=None, compare=False)
    # ^ aiortc RTCIceServer objects; None: the studio's ICE servers setting (whose default
    #   is one public STUN server, as VDO.Ninja uses); () for none at all

    def __post_init__(self) -> None:
        try:
            room_name(self.room)
        except ValueError as exc:
            raise VdoSettingsError(str(exc)) from None
        if not self.server.startswith(("wss://", "ws://")):
            raise VdoSettingsError(
                f"the handshake server must be a wss:// address, not {self.server!r}")
        if self.dialect not in DIALECT_CHOICES:
            raise VdoSettingsError(
                f"unknown handshake dialect {self.dialect!r}; use {', '.join(DIALECT_CHOICES)}")


def parse_password(text: str | None) -> str | bool | None:
    """A password setting as typed: empty for the default, "false" to switch it off."""
    if text is None or not str(text).strip():
        return None
    return False if room_password(text) is None else str(text)


def parse_streams(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def server_url(text: str) -> str:
    """`host:port` or a full URL as a wss:// URL (VDO.Ninja's &wss= prepends wss://)."""
    text = text.strip()
    return text if text.startswith(("wss://", "ws://")) else f"wss://{text}"


def _salt_for(host: str | None) -> str:
    if not host or host == "localhost" or host.endswith("vdo.ninja"):
        return DEFAULT_SALT
    try:
        ipaddress.ip_address(host)
        return DEFAULT_SALT
    except ValueError:
        return host  # a self-hosted copy of the app salts with its own host name


def settings_from_link(link: str, **overrides: Any) -> VdoSettings:
    """Room, password, server, dialect and stream ids from a VDO.Ninja link (a guest's,
    a director's or a viewer's). Raises VdoSettingsError when it names no room."""
    parts = urlsplit(link.strip())
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    room = next((query[k] for k in _ROOM_KEYS if query.get(k)), "")
    if not room:
        raise VdoSettingsError("the link names no room (&room= or &director=)")
    values: dict[str, Any] = {"room": room, "salt": query.get("salt") or _salt_for(parts.hostname)}
    if any(k in query for k in _NO_PASSWORD_KEYS):
        values["password"] = False
    else:
        password = next((query[k] for k in _PASSWORD_KEYS if k in query), None)
        if password is not None:
            values["password"] = parse_password(password)
    if query.get("wss"):
        values.update(server=server_url(query["wss"]), dialect=RELAY)
    elif query.get("wss2"):
        values.update(server=server_url(query["wss2"]), dialect=HOSTED)
    view = next((query[k] for k in _VIEW_KEYS if query.get(k)), "")
    if view:
        values["streams"] = parse_streams(view)
    values.update(overrides)
    return VdoSettings(**values)


def link_fields(link: str) -> dict[str, str]:
    """The room's text fields as a pasted link gives them (for a settings dialog to fill
    in): vdo_room, vdo_password ("" = default, "false" = off), vdo_server ("" = VDO.Ninja's
    own), vdo_streams. Raises VdoSettingsError for a link that names no room."""
    settings = settings_from_link(link)
    password = settings.password
    return {
        "vdo_room": settings.room,
        "vdo_password": "false" if password is False else (password or ""),
        "vdo_server": "" if settings.server == DEFAULT_SERVER else settings.server,
        "vdo_streams": ", ".join(settings.streams),
    }
