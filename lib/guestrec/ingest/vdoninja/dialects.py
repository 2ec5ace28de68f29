"""The two handshake dialects, as seen by a viewer: what to send, and what a message means.

Hosted server (VDO.Ninja's own, `wss://wss.vdo.ninja`): the server names every socket with
a UUID; a message delivered to us carries the sender's in `UUID`, one we send carries the
target's. Joining returns a `listing` of the members; publishers announce with `seed`
(the room hears `videoaddedtoroom`); a viewer asks `play` and the publisher offers.

Self-hosted relay (`handshake/server.js` of VDO.Ninja's offline deployment): a fan-out in
the room; every message carries its sender's own UUID in `from` and optionally a target in
`UUID`. There is no listing: every publisher offers to whoever joins, and one that joins
later announces itself with a `joinroom` holding its stream id, which a viewer answers with
`play`. A closed socket is told to the room as `{"type": "disconnect", "uuid": ...}`.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from .settings import HOSTED, RELAY

DIALECTS = (HOSTED, RELAY)
_UUID_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Event:
    """What an incoming handshake message means to a viewer."""

    kind: str  # publisher, offer, candidates, left, error, ignored
    sender: str | None = None  # the UUID of the member it is about
    stream: str | None = None  # wire stream id, for `publisher`
    message: dict[str, Any] = field(default_factory=dict)


def _description_event(sender: str | None, message: dict[str, Any]) -> Event | None:
    if "description" in message:
        return Event("offer", sender, message.get("streamID"), message)
    if "candidates" in message or "candidate" in message:
        return Event("candidates", sender, None, message)
    return None


class Dialect:
    name = ""

    def __init__(self, director: bool = False) -> None:
        self.me = "".join(secrets.choice(_UUID_ALPHABET) for _ in range(20))
        self.director = director  # join as the room's director

    def join(self, wire_room: str) -> dict[str, Any]:
        raise NotImplementedError

    def play(self, wire_stream: str, owner: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def to(self, target: str, message: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def read(self, message: dict[str, Any]) -> list[Event]:
        raise NotImplementedError


class HostedDialect(Dialect):
    name = HOSTED

    def join(self, wire_room: str) -> dict[str, Any]:
        message: dict[str, Any] = {"request": "joinroom", "roomid": wire_room}
        if self.director:  # as the app's director page joins: claim the room, say who we are
            message.update(claim=True, director=True)
        return message

    def play(self, wire_stream: str, owner: str | None) -> dict[str, Any]:
        return {"request": "play", "streamID": wire_stream}

    def to(self, target: str, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "UUID": target}

    def read(self, message: dict[str, Any]) -> list[Event]:
        request = message.get("request")
        sender = message.get("UUID")
        if request == "listing":
            return [
                Event("publisher", str(member["UUID"]), str(member["streamID"]), member)
                for member in message.get("list") or []
                if isinstance(member, dict) and member.get("UUID") and member.get("streamID")
            ]
        if request in ("videoaddedtoroom", "seed") and message.get("streamID") and sender:
            return [Event("publisher", str(sender), str(message["streamID"]), message)]
        if "error" in message:
            return [Event("error", sender, None, message)]
        event = _description_event(sender, message)
        return [event] if event else [Event("ignored", sender, None, message)]


class RelayDialect(Dialect):
    name = RELAY

    def join(self, wire_room: str) -> dict[str, Any]:
        message: dict[str, Any] = {"request": "joinroom", "roomid": wire_room, "from": self.me}
        if self.director:  # as the app's director page joins: claim the room, say who we are
            message.update(claim=True, director=True)
        return message

    def play(self, wire_stream: str, owner: str | None) -> dict[str, Any]:
        # The relay hands `play` only to the stream's owner; no UUID, so it is found by id.
        # A guest that joined after us learns here that we direct the room: it takes a
        # director's requests only from a member whose join or play said so.
        message: dict[str, Any] = {"request": "play", "streamID": wire_stream, "from": self.me}
        if self.director:
            message["director"] = True
        return message

    def to(self, target: str, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "UUID": target, "from": self.me}

    def read(self, message: dict[str, Any]) -> list[Event]:
        if message.get("type") in ("disconnect", "leave") and message.get("uuid"):
            return [Event("left", str(message["uuid"]), None, message)]
        if "error" in message:
            return [Event("error", message.get("from"), None, message)]
        sender = message.get("from")
        if not sender or sender == self.me:
            return [Event("ignored", sender, None, message)]
        target = message.get("UUID")
        if target and target != self.me:
            return [Event("ignored", sender, None, message)]  # the relay sends only ours; be sure
        request = message.get("request")
        if request in ("joinroom", "seed") and message.get("streamID"):
            return [Event("publisher", str(sender), str(message["streamID"]), message)]
        event = _description_event(str(sender), message)
        return [event] if event else [Event("ignored", sender, None, message)]


def make_dialect(name: str, director: bool = False) -> Dialect:
    if name == HOSTED:
        return HostedDialect(director)
    if name == RELAY:
        return RelayDialect(director)
    raise ValueError(f"unknown VDO.Ninja handshake dialect {name!r}; use {' or '.join(DIALECTS)}")
