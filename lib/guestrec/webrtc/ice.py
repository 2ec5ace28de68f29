"""ICE servers (STUN/TURN): one setting for the studio's peer connections, the guest page
and WHIP clients.

The setting is the W3C `RTCIceServer` JSON list TURN providers hand out::

    [{"urls": ["stun:stun.example.org"]},
     {"urls": ["turn:turn.example.org?transport=udp", "turns:turn.example.org:443"],
      "username": "...", "credential": "..."}]

Blank means the default (one public STUN server, enough for ordinary home routers); `[]`
turns ICE servers off (one LAN only). With a TURN shared secret (see turn_rest.py) the
`turn:`/`turns:` entries need no username or password: short-lived ones are minted per use.

aiortc (aioice 0.13) uses only the first STUN and the first TURN address it is given, no
`stuns:`, and no IPv6 literal; `for_studio` picks what it can use and says what it left
out. Browsers and WHIP clients get the whole list.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import turn_rest

DEFAULT_ICE_SERVERS = '[{"urls": "stun:stun.l.google.com:19302"}]'
DEFAULT_ENV = "GUESTREC_DEFAULT_ICE_SERVERS"  # replaces the default (the test suite: "[]")
_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)


class IceConfigError(ValueError):
    """The ICE servers setting is not usable; the message says why and where."""


@dataclass(frozen=True)
class IceUrl:
    text: str
    scheme: str  # stun, stuns, turn, turns
    host: str
    port: int | None
    transport: str | None

    @property
    def is_turn(self) -> bool:
        return self.scheme.startswith("turn")

    def studio_problem(self) -> str | None:
        """Why aiortc cannot use this URL, or None when it can."""
        if self.host.startswith("["):
            return "aiortc takes no IPv6 address in an ICE URL"
        if self.scheme == "stuns":
            return "aiortc has no stuns:"
        if self.scheme == "turns" and self.transport == "udp":
            return "aiortc has no TURN over DTLS"
        if self.scheme == "stun" and self.transport:
            return "a stun: URL takes no transport"
        return None


def parse_url(text: str, where: str) -> IceUrl:
    if not isinstance(text, str):
        raise IceConfigError(f"{where}: a URL must be a string, not {json.dumps(text)}")
    match = _URL.fullmatch(text.strip())
    if not match:
        raise IceConfigError(
            f"{where}: {text!r} is not a STUN/TURN URL "
            "(expected e.g. stun:host:3478 or turn:host:3478?transport=udp)")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise IceConfigError(f"{where}: port {port} in {text!r} is out of range")
    if match["scheme"].startswith("stun") and match["transport"]:
        raise IceConfigError(f"{where}: {text!r}: a STUN URL takes no ?transport=")
    return IceUrl(text.strip(), match["scheme"], match["host"], port, match["transport"])


@dataclass(frozen=True)
class IceServer:
    urls: tuple[IceUrl, ...]
    username: str | None = None
    credential: str | None = None

    @property
    def has_turn(self) -> bool:
        return any(u.is_turn for u in self.urls)


def _parse_server(entry: Any, where: str) -> IceServer:
    if not isinstance(entry, dict):
        raise IceConfigError(f"{where}: each ICE server must be an object with \"urls\"")
    unknown = set(entry) - {"urls", "username", "credential", "credentialType"}
    if unknown:
        raise IceConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    urls = entry.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls:
        raise IceConfigError(f"{where}: \"urls\" must be a URL or a non-empty list of URLs")
    parsed = tuple(parse_url(u, where) for u in urls)
    if entry.get("credentialType", "password") != "password":
        raise IceConfigError(f"{where}: only credentialType \"password\" is supported")
    values = {}
    for key in ("username", "credential"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise IceConfigError(f"{where}: \"{key}\" must be a string")
        values[key] = value
    return IceServer(parsed, values["username"], values["credential"])


def parse_ice_servers(text: str) -> tuple[IceServer, ...]:
    """Parse the JSON setting; a list, or an object holding "iceServers" (as some TURN
    providers' APIs return it). Raises IceConfigError with the reason."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IceConfigError(
            f"ICE servers: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if isinstance(data, dict) and "iceServers" in data:
        data = data["iceServers"]
    if not isinstance(data, list):
        raise IceConfigError("ICE servers: expected a JSON list like [{\"urls\": \"stun:host\"}]")
    return tuple(_parse_server(entry, f"ICE server {n + 1}") for n, entry in enumerate(data))


def read_ice_servers_arg(value: str) -> str:
    """The JSON text of a `--ice-servers JSON|@FILE` argument."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise IceConfigError(f"ICE servers: cannot read {path}: {reason}") from None


def _server_json(urls: list[str], username: str | None, credential: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"urls": urls}
    if username is not None:
        entry["username"] = username
    if credential is not None:
        entry["credential"] = credential
    return entry


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class StudioIce:
    servers: list[Any]  # aiortc RTCIceServer
    notes: list[str] = field(default_factory=list)  # what the studio left out, and why


@dataclass(frozen=True)
class IceSettings:
    servers: tuple[IceServer, ...]
    turn_secret: str = ""
    ttl_s: int = turn_rest.DEFAULT_TTL_S

    def __post_init__(self) -> None:
        if self.turn_secret:
            return
        for n, server in enumerate(self.servers):
            if server.has_turn and not (server.username and server.credential):
                raise IceConfigError(
                    f"ICE server {n + 1}: a TURN server needs \"username\" and \"credential\", "
                    "or a TURN shared secret to mint them")

    @classmethod
    def from_text(cls, text: str | None, turn_secret: str = "") -> IceSettings:
        """Blank text means the default list ($GUESTREC_DEFAULT_ICE_SERVERS, else one public
        STUN server); "[]" means none."""
        if text and text.strip():
            body = text
        else:
            body = os.environ.get(DEFAULT_ENV, "").strip() or DEFAULT_ICE_SERVERS
        return cls(parse_ice_servers(body), (turn_secret or "").strip())

    @property
    def has_turn(self) -> bool:
        return any(s.has_turn for s in self.servers)

    def _credentials(self, server: IceServer, who: str, now: float | None) -> tuple[str | None, str | None]:
        if server.has_turn and self.turn_secret:
            minted = turn_rest.mint(self.turn_secret, who, self.ttl_s, now)
            return minted.username, minted.password
        return server.username, server.credential

    def credentials_for(self, server: IceServer, who: str) -> tuple[str | None, str | None]:
        """(username, credential) for `who`'s use of `server`: minted when a secret is set."""
        return self._credentials(server, who, None)

    def for_client(self, guest: str, now: float | None = None) -> list[dict[str, Any]]:
        """The list for a browser or WHIP client, in W3C JSON; TURN entries carry credentials
        minted for this guest when a secret is set (the secret itself never leaves)."""
        return [
            _server_json([u.text for u in s.urls], *self._credentials(s, guest, now))
            for s in self.servers
        ]

    def link_headers(self, guest: str, now: float | None = None) -> list[str]:
        """RFC 9725 section 4.6 `Link` header values, one per URL."""
        values = []
        for server in self.servers:
            username, credential = self._credentials(server, guest, now)
            for url in server.urls:
                value = f'<{url.text}>; rel="ice-server"'
                if url.is_turn and username is not None and credential is not None:
                    value += (f"; username={_quoted(username)}; credential={_quoted(credential)}"
                              '; credential-type="password"')
                values.append(value)
        return values

    def for_studio(self, now: float | None = None) -> StudioIce:
        """What aiortc can use: the first usable STUN URL and the first usable TURN URL, in
        the order given (the order a provider lists them in is its preference)."""
        from aiortc import RTCIceServer  # aiortc loads on the engine's thread, not at import

        stun: Any = None
        turn: Any = None
        notes: list[str] = []
        for server in self.servers:
            username, credential = self._credentials(server, "studio", now)
            for url in server.urls:
                problem = url.studio_problem()
                if problem:
                    notes.append(f"{url.text} not used by the studio: {problem}")
                elif url.is_turn and turn is None:
                    turn = RTCIceServer(urls=[url.text], username=username, credential=credential)
                elif not url.is_turn and stun is None:
                    stun = RTCIceServer(urls=[url.text])
                else:
                    kind = "TURN" if url.is_turn else "STUN"
                    notes.append(f"{url.text} not used by the studio: aiortc uses only one {kind} address")
        return StudioIce([s for s in (stun, turn) if s is not None], notes)

    def describe(self) -> str:
        """One line for the log and the status, without credentials."""
        if not self.servers:
            return "no ICE servers (guests on this network only)"
        urls = ", ".join(u.text for s in self.servers for u in s.urls)
        minted = ("; TURN credentials minted from the shared secret"
                  if self.turn_secret and self.has_turn else "")
        return f"ICE servers: {urls}{minted}"
