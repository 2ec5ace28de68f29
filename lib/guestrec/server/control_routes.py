"""The control room over HTTP: its page, and the operator's API (operator key only).

    GET    /control                       the page (its key comes in the fragment, #key=KEY)
    GET    /control/NAME                  its module and style
    GET    /api/guests                    every guest's status (at least "name")
    GET    /api/events                    server-sent events: guests, show, invites, files, export
    GET    /api/guests/NAME/picture       the guest's latest picture, JPEG (404: none yet)
    POST   /api/guests/NAME/record        {"on": true|false}
    POST   /api/guests/NAME/hangup        the studio closes the guest's connection
    POST   /api/guests/NAME/mute          {"mute": true|false}: asks the guest's page
    POST   /api/guests/NAME/message       {"text": "..."}
    POST   /api/guests/NAME/bitrate       {"kbps": N}
    POST   /api/guests/NAME/hold          {"on": true|false}: hears nobody, heard by nobody
    POST   /api/guests/NAME/talkback      {"on": true|false}: the studio's sound to this guest
                                          alone; renewed while held, it ends after 4 s without
    POST   /api/recording                 {"on": true|false}: every guest
    GET    /api/files                     the session folder's files and their states
    POST   /api/export                    {"proxies": false}: export the last session (202)
    GET    /api/export                    the last export: state, progress lines, result
    GET    /api/invites                   every invite, with its link
    POST   /api/invites                   {"name": "Ann", "expires_s": 3600}: a new invite
    DELETE /api/invites/ID[?hang_up=1]    revoked at once (and its guest hung up)

Answers are JSON; refusals are {"error": reason} with a 4xx status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..common.interfaces import SessionHost
from .control_room import ControlError, ControlRoom
from .event_stream import EventStreams
from .invites import InviteError
from .operator_auth import operator_only
from .public_status import public_status

PAGE_DIR = Path(__file__).resolve().parent.parent / "control_page"
CONTROL_KEY: web.AppKey[ControlRoom] = web.AppKey("guestrec_control", ControlRoom)
MAX_BODY_BYTES = 4096
_NO_CACHE = {"Cache-Control": "no-store"}
# The page's address carries the key (in the fragment, which browsers never send): no
# Referer, nothing but this server's own script, style, connections and pictures.
CONTROL_PAGE_SECURITY = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' blob:; media-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}
_FILE_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_FILE_NAME = re.compile(r"[a-z0-9_]+\.(?:js|css)")
GUEST_ACTIONS = ("record", "hangup", "mute", "message", "bitrate", "hold", "talkback")


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=_NO_CACHE)


def _ok(body: Any = None) -> web.Response:
    return web.json_response({"ok": True} if body is None else body, headers=_NO_CACHE)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ControlError(f"the request body may be at most {MAX_BODY_BYTES} bytes", 413)
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ControlError(f"the request body may be at most {MAX_BODY_BYTES} bytes", 413)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("the request body must be JSON", 400) from None
    if not isinstance(body, dict):
        raise ControlError("the request body must be a JSON object", 400)
    return body


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise ControlError(f'"{key}" must be true or false', 400)
    return value


def _answering(handler: Callable[[web.Request, ControlRoom], Awaitable[web.StreamResponse]]):
    """The operator's key checked first; a ControlError becomes its JSON refusal."""
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request, request.app[CONTROL_KEY])
        except ControlError as exc:
            return _error(exc.status, str(exc))
        except InviteError as exc:
            return _error(400, str(exc))

    return operator_only(answer)


# -- the page ------------------------------------------------------------------------

async def control_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE_DIR / "index.html", headers={**_NO_CACHE, **CONTROL_PAGE_SECURITY})


async def control_file(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    path = PAGE_DIR / name
    if not _FILE_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound
    return web.FileResponse(path, headers={
        "Content-Type": _FILE_TYPES[path.suffix], "Cache-Control": "no-cache", **CONTROL_PAGE_SECURITY})


# -- the API ---------------------------------------------------------------------------

async def guests(request: web.Request, room: ControlRoom) -> web.Response:
    return _ok(room.guests())


async def picture(request: web.Request, room: ControlRoom) -> web.Response:
    data = await room.pictures.jpeg(request.match_info["name"])
    if data is None:
        return _error(404, "no picture of that guest yet")
    return web.Response(body=data, content_type="image/jpeg", headers=_NO_CACHE)


async def guest_action(request: web.Request, room: ControlRoom) -> web.Response:
    name, action = request.match_info["name"], request.match_info["action"]
    body = await _json_body(request)
    if action == "record":
        return _ok({"changed": await room.record(name, _flag(body, "on"))})
    if action == "hangup":
        await room.hang_up(name)
    elif action == "mute":
        room.ask_mute(name, _flag(body, "mute"))
    elif action == "hold":
        room.hold(name, _flag(body, "on"))
    elif action == "talkback":
        return _ok({"studio_sound": room.talkback(name, _flag(body, "on"))})
    elif action == "message":
        text = body.get("text")
        if not isinstance(text, str):
            raise ControlError('"text" must be a string', 400)
        room.message(name, text)
    else:
        kbps = body.get("kbps")
        if isinstance(kbps, bool) or not isinstance(kbps, int):
            raise ControlError('"kbps" must be a whole number', 400)
        return _ok({"kbps": room.bitrate(name, kbps)})
    return _ok()


async def record_all(request: web.Request, room: ControlRoom) -> web.Response:
    return _ok({"changed": await room.record(None, _flag(await _json_body(request), "on"))})


async def files(request: web.Request, room: ControlRoom) -> web.Response:
    return _ok(room.files())


async def start_export(request: web.Request, room: ControlRoom) -> web.Response:
    body = await _json_body(request)
    proxies = _flag(body, "proxies") if "proxies" in body else False
    return web.json_response(room.start_export(proxies), status=202, headers=_NO_CACHE)


async def export_status(request: web.Request, room: ControlRoom) -> web.Response:
    return _ok(room.export_status())


async def list_invites(request: web.Request, room: ControlRoom) -> web.Response:
    return _ok(room.invites())


async def make_invite(request: web.Request, room: ControlRoom) -> web.Response:
    body = await _json_body(request)
    return web.json_response(room.make_invite(body.get("name"), body.get("expires_s")),
                             status=201, headers=_NO_CACHE)


async def revoke_invite(request: web.Request, room: ControlRoom) -> web.Response:
    hang_up = request.query.get("hang_up", "") in ("1", "true", "yes")
    return _ok(await room.revoke_invite(request.match_info["invite_id"], hang_up))


def add_control_routes(app: web.Application, room: ControlRoom) -> None:
    app[CONTROL_KEY] = room
    streams = EventStreams({"show": room.show, "guests": room.guests, "invites": room.invites,
                            "files": room.files, "export": room.export_status}, room.changes)
    app.on_shutdown.append(streams.close)
    app.router.add_get("/control", control_page)
    app.router.add_get("/control/", _redirect_to_page)
    app.router.add_get("/control/{name}", control_file)
    app.router.add_get("/api/guests", _answering(guests))
    app.router.add_get("/api/events", operator_only(streams.stream))
    app.router.add_get("/api/guests/{name:.+}/picture", _answering(picture))
    actions = "|".join(GUEST_ACTIONS)
    app.router.add_post("/api/guests/{name:.+}/{action:" + actions + "}", _answering(guest_action))
    app.router.add_post("/api/recording", _answering(record_all))
    app.router.add_get("/api/files", _answering(files))
    app.router.add_post("/api/export", _answering(start_export))
    app.router.add_get("/api/export", _answering(export_status))
    app.router.add_get("/api/invites", _answering(list_invites))
    app.router.add_post("/api/invites", _answering(make_invite))
    app.router.add_delete("/api/invites/{invite_id}", _answering(revoke_invite))


async def _redirect_to_page(request: web.Request) -> web.Response:
    raise web.HTTPFound("/control")  # the browser keeps the fragment, and the key in it


def add_guest_list(app: web.Application, host: SessionHost) -> None:
    """Without a control room (a bare guest server): the guest list alone, still the
    operator's."""
    async def listing(request: web.Request) -> web.Response:
        return _ok([public_status(status) for status in host.guest_statuses()])

    app.router.add_get("/api/guests", operator_only(listing))
