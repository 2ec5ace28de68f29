"""The HTTP application: WHIP routes, the guest page and a small status API.

    GET /              the guest page (name, camera, microphone, Join, Hang up)
    GET /static/NAME   its modules and style
    GET /api/ice-servers?name=N   {"iceServers": [...]} for the guest page's peer connection
    /control, /api/... the control room and the operator's API, see control_routes.py
    /whip/...          see ingest/whip/http.py
    /upload/...        recordings made in the guests' browsers, see recorders/upload_routes.py
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path

from aiohttp import web, web_app

from ..common.access import AccessRefused
from ..common.interfaces import SessionHost
from ..ingest.whip.http import HOST_KEY, MAX_OFFER_BYTES, add_whip_routes, guest_pass, refused, unauthorized
from ..media.log_bound import bound_noisy_loggers
from ..uploads.guest_uploads import GuestUploads
from ..uploads.upload_routes import add_upload_routes
from .access import StudioAccess
from .control_room import ControlRoom
from .control_routes import add_control_routes, add_guest_list
from .operator_auth import ACCESS_KEY
from .web_guard import ConnectionGuard

PAGE_DIR = Path(__file__).resolve().parent.parent / "guest_page"
_NO_CACHE = {"Cache-Control": "no-store"}
# The page's address carries the token: no Referer may take it elsewhere, and nothing but
# this server's own script, style and connections may run on the page.
PAGE_SECURITY = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; media-src 'self' blob: mediastream:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


async def _forget_middleware_chains(app: web.Application) -> None:
    """aiohttp caches each handler's middleware chain in a module-level LRU cache keyed on
    the application (up to 1024 entries). aiohttp stays imported across OBS script
    reloads, so without this a stopped server's application, and through it the roster,
    its guests' sinks and their FFmpeg filter threads, would live on in that cache."""
    cache = getattr(web_app, "_cached_build_middleware", None)
    if callable(getattr(cache, "cache_clear", None)):
        cache.cache_clear()


@web.middleware
async def page_security(request: web.Request, handler):
    response = await handler(request)
    for key, value in PAGE_SECURITY.items():
        response.headers.setdefault(key, value)
    return response


async def guest_page(request: web.Request) -> web.FileResponse:
    # no-store: after an update the guest gets the new page, not a stale script.
    return web.FileResponse(PAGE_DIR / "index.html", headers=_NO_CACHE)


# The page's own files by name, straight from its folder. Their type is said outright: a
# browser refuses a module script served as anything but JavaScript, and what Python's
# mimetypes guesses depends on the machine. no-cache: revalidated at every load, so after
# an update no stale module meets a fresh one.
_PAGE_FILE_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_PAGE_FILE_NAME = re.compile(r"[a-z0-9_]+\.(?:js|css)")


async def page_file(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    path = PAGE_DIR / name
    if not _PAGE_FILE_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound
    headers = {"Content-Type": _PAGE_FILE_TYPES[path.suffix], "Cache-Control": "no-cache"}
    return web.FileResponse(path, headers=headers)


async def ice_servers_api(request: web.Request) -> web.Response:
    """Fetched by the page before it makes its peer connection (not inlined in the page:
    the page's scripts are files only). TURN credentials in it are minted per request and
    expire; the TURN secret never leaves the studio."""
    holder = guest_pass(request)
    if holder is None:
        return unauthorized()
    try:
        request.app[ACCESS_KEY].check_join(holder)
    except AccessRefused as exc:
        return refused(exc)
    guest = holder.name or request.query.get("name", "")[:64] or "guest"
    servers = request.app[HOST_KEY].client_ice_servers(guest)
    return web.json_response({"iceServers": servers}, headers=_NO_CACHE)


def build_app(
    host: SessionHost, access: StudioAccess | str, guard: ConnectionGuard | None = None,
    add_routes: Callable[[web.Application], None] | None = None,
    uploads: GuestUploads | None = None, control: ControlRoom | None = None,
) -> web.Application:
    """The application serving guests for one SessionHost, its roles kept by `access` (a
    plain string: the guest token, with an operator key nobody knows), and for the
    engine's server guarded by a ConnectionGuard that needs to see each request; an ingest
    may add routes of its own (e.g. the SFU's page events); with `uploads` it receives the
    recordings made in the guests' browsers; with `control` it serves the control room."""
    if isinstance(access, str):
        access = StudioAccess(access, operator_key=secrets.token_urlsafe(24))
    bound_noisy_loggers()
    middlewares = ([guard.middleware] if guard is not None else []) + [page_security]
    # Nothing we accept is larger than an offer; aiohttp refuses bigger bodies itself.
    app = web.Application(client_max_size=MAX_OFFER_BYTES + 1024, middlewares=middlewares)
    app[ACCESS_KEY] = access
    add_whip_routes(app, host, access)
    if add_routes is not None:
        add_routes(app)
    app.router.add_get("/", guest_page)
    if control is not None:
        add_control_routes(app, control)
    else:
        add_guest_list(app, host)
    if uploads is not None:
        add_upload_routes(app, uploads)
    app.router.add_get("/api/ice-servers", ice_servers_api)
    app.router.add_get("/static/{name}", page_file)
    app.on_cleanup.append(_forget_middleware_chains)
    return app
