"""WHIP (RFC 9725) over aiohttp: guests POST an SDP offer and DELETE the session to leave.

    POST    /whip/<guest>          offer in, 201 + answer, Location: /whip/session/<id>
    DELETE  /whip/session/<id>     200, or 404 for an unknown session
    PATCH   /whip/session/<id>     405: no trickle ICE and no ICE restart (see below)
    OPTIONS both                   CORS preflight

Reconnecting: the 201 carries `Guestrec-Resume: <secret>` and `Guestrec-Name: <name used,
percent-encoded>`. A guest whose connection dropped POSTs a new offer to the name it was
given with that header; within the grace period it gets its name, OBS source and take back.

Screen share: an offer with `Guestrec-Screen-Of: <the guest's own session id>` and the
guest's credential is the screen of that guest (see core/screen_shares.py): the name in
the URL is ignored, and an invite's one connection at a time is the guest's own.

Every request but OPTIONS needs a guest credential (the guest link's token, or an
invite's), as `Authorization: Bearer <token>` or, for the guest page's convenience,
`?token=`. A credential the studio knows but does not take now (a revoked or expired
invite, the guest link in invite-only mode) gets 403 with the reason for the guest; an
invite in use by another connection gets 409. A session belongs to the credential that
opened it: DELETE and PATCH with any other get 404, as for a session that never was. An
invite names its guest: the name in the URL is then ignored. Every reply carries CORS
headers so the guest page may be served from elsewhere. Bad input gets a 4xx with a
plain-text reason and never touches other guests' sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from ...common.access import IN_USE, AccessRefused, GuestGate, GuestPass, SharedTokenGate
from ...common.interfaces import OfferRejected, SessionAnswer, SessionHost
from ...core.screen_shares import NO_OWNER, NOT_HERE

log = logging.getLogger(__name__)

MAX_OFFER_BYTES = 64 * 1024
SDP_TYPE = "application/sdp"
HOST_KEY: web.AppKey[SessionHost] = web.AppKey("guestrec_host", SessionHost)
GATE_KEY: web.AppKey[GuestGate] = web.AppKey("guestrec_gate", GuestGate)
ENDPOINT_METHODS = "POST, OPTIONS"
RESOURCE_METHODS = "DELETE, OPTIONS"
RESUME_HEADER = "Guestrec-Resume"
NAME_HEADER = "Guestrec-Name"
SCREEN_HEADER = "Guestrec-Screen-Of"
MAX_RESUME_CHARS = 200
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers":
        f"Authorization, Content-Type, If-Match, {RESUME_HEADER}, {SCREEN_HEADER}",
    "Access-Control-Expose-Headers": f"Location, ETag, Link, Retry-After, {RESUME_HEADER}, {NAME_HEADER}",
}
BODY_TIMEOUT_S = 10.0  # an offer's body must arrive within this (slow senders hold a socket)


def bearer(request: web.Request) -> str | None:
    """The credential a request carries: Bearer header first, `?token=` second."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


def guest_pass(request: web.Request) -> GuestPass | None:
    """The pass of the guest credential the request carries, None for none or a wrong one."""
    return request.app[GATE_KEY].identify(bearer(request))


def plain(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain", headers=headers)


def refused(exc: AccessRefused) -> web.Response:
    return plain(exc.status, exc.reason)


def unauthorized() -> web.Response:
    response = plain(
        401, "missing or wrong token",
        {"WWW-Authenticate": 'Bearer realm="guestrec", error="invalid_token"'},
    )
    response.force_close()  # a client without the token gets no connection to keep
    return response


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit`; never reads past limit + 1."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    return None


def same_origin(request: web.Request) -> str | None:
    """The request's Origin when it is this server's own (scheme, host and port)."""
    origin = request.headers.get("Origin")
    if origin and origin == f"{request.scheme}://{request.host}":
        return origin
    return None


async def add_cors(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: CORS headers on every WHIP reply, errors too (WHIP
    clients may be web pages anywhere); the status API answers its own origin only."""
    if request.path.startswith("/whip"):
        for key, value in CORS_HEADERS.items():
            response.headers.setdefault(key, value)
    elif request.path.startswith("/api"):
        origin = same_origin(request)
        response.headers.setdefault("Vary", "Origin")
        if origin:
            response.headers.setdefault("Access-Control-Allow-Origin", origin)


async def sdp_body(request: web.Request) -> str | web.Response:
    """The request's SDP (an offer or an answer), or the response that refuses it."""
    if request.content_type != SDP_TYPE:
        return plain(415, f"Content-Type must be {SDP_TYPE}", {"Accept-Post": SDP_TYPE})
    try:
        body = await asyncio.wait_for(read_limited(request, MAX_OFFER_BYTES), BODY_TIMEOUT_S)
    except TimeoutError:
        response = plain(408, f"the offer did not arrive within {BODY_TIMEOUT_S:.0f} s")
        response.force_close()
        return response
    if body is None:
        response = plain(413, f"the offer is larger than {MAX_OFFER_BYTES} bytes")
        response.force_close()  # the rest of the body is not wanted on this connection
        return response
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return plain(400, "the offer is not UTF-8 text")


async def post_offer(request: web.Request) -> web.Response:
    host, gate = request.app[HOST_KEY], request.app[GATE_KEY]
    holder = gate.identify(bearer(request))
    if holder is None:
        return unauthorized()
    try:
        gate.check_join(holder)
    except AccessRefused as exc:
        return refused(exc)
    offer = await sdp_body(request)
    if isinstance(offer, web.Response):
        return offer
    guest = holder.name or request.match_info["guest"]
    resume = request.headers.get(RESUME_HEADER, "").strip()[:MAX_RESUME_CHARS] or None
    screen_of = request.headers.get(SCREEN_HEADER, "").strip()[:MAX_RESUME_CHARS] or None
    try:
        if screen_of is not None:
            answer = await _answer_screen(host, gate, holder, screen_of, offer, request.remote)
        else:
            with gate.joining(holder):
                answer = await _answer_for(host, gate, holder, guest, offer, resume, request.remote)
    except AccessRefused as exc:
        return refused(exc)
    except OfferRejected as exc:
        log.info("offer from %r rejected (%d): %s", guest[:80], exc.status, exc.reason)
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return plain(exc.status, exc.reason, retry)
    except Exception:
        log.exception("answering %r failed", guest[:80])
        return plain(500, "the server could not answer this offer")
    headers = CIMultiDict({
        "Location": f"/whip/session/{answer.session_id}",
        "ETag": f'"{answer.session_id}"',
        NAME_HEADER: quote(answer.guest, safe=""),
        **answer.extra_headers,
    })
    for link in answer.links:
        headers.add("Link", link)
    if answer.resume_secret:
        headers[RESUME_HEADER] = answer.resume_secret
    return web.Response(status=201, text=answer.answer_sdp, content_type=SDP_TYPE, headers=headers)


def _session_is_open(host: SessionHost) -> Callable[[str], bool]:
    # A host that cannot say counts every session it was given as still open.
    return getattr(host, "has_session", None) or (lambda session_id: True)


async def _answer_for(host: SessionHost, gate: GuestGate, holder: GuestPass, guest: str,
                      offer: str, resume: str | None, peer: str | None) -> SessionAnswer:
    """The host's answer, the session noted as the pass's. An invite with a connection
    open lets in only that guest coming back (its resume secret replaces the old one)."""
    is_open = _session_is_open(host)
    previous = gate.open_session_of(holder, is_open)
    if previous is not None and resume is None:
        raise AccessRefused(409, IN_USE)
    answer = await host.open_session(guest, offer, resume, peer=peer)
    if previous is not None and is_open(previous):  # not its own resume secret
        await host.close_session(answer.session_id)
        raise AccessRefused(409, IN_USE)
    gate.opened(answer.session_id, holder, answer.guest)
    return answer


async def _answer_screen(host: SessionHost, gate: GuestGate, holder: GuestPass, owner_session: str,
                         offer: str, peer: str | None) -> SessionAnswer:
    """A guest's screen share, beside its own session opened with the same pass."""
    open_screen = getattr(host, "open_screen", None)
    if open_screen is None:
        raise OfferRejected(NOT_HERE, 409)
    if not gate.owns(owner_session, holder) or not _session_is_open(host)(owner_session):
        raise OfferRejected(NO_OWNER, 409)
    answer = await open_screen(owner_session, offer, peer=peer)
    gate.opened_beside(answer.session_id, holder)
    return answer


async def delete_session(request: web.Request) -> web.Response:
    host, gate = request.app[HOST_KEY], request.app[GATE_KEY]
    holder = gate.identify(bearer(request))
    if holder is None:
        return unauthorized()
    session_id = request.match_info["session_id"]
    # Another guest's session looks like none at all.
    if gate.owns(session_id, holder) and await host.close_session(session_id):
        gate.closed(session_id)
        return plain(200, "session ended")
    return plain(404, "no such session")


async def patch_session(request: web.Request) -> web.Response:
    gate = request.app[GATE_KEY]
    holder = gate.identify(bearer(request))
    if holder is None:
        return unauthorized()
    if not gate.owns(request.match_info["session_id"], holder):
        return plain(404, "no such session")
    # RFC 9725 4.3.1: a session that supports neither trickle ICE nor ICE restarts answers
    # PATCH with 405 (422 is for a server that takes trickle but refuses a restart). We
    # gather all candidates before answering and the guests we serve sit on one LAN, so
    # neither is needed.
    return plain(405, "trickle ICE and ICE restarts are not supported", {"Allow": RESOURCE_METHODS})


def preflight(methods: str) -> web.RequestHandler:
    async def handler(request: web.Request) -> web.Response:
        headers = {"Allow": methods, "Access-Control-Allow-Methods": methods,
                   "Access-Control-Max-Age": "600"}
        if methods == ENDPOINT_METHODS:
            headers["Accept-Post"] = SDP_TYPE
        return web.Response(status=204, headers=headers)

    return handler


def add_whip_routes(app: web.Application, host: SessionHost, gate: GuestGate | str) -> None:
    """Register the WHIP endpoint and session resource on an application; `gate` decides
    who may join (a plain string: one token shared by every guest)."""
    app[HOST_KEY] = host
    app[GATE_KEY] = SharedTokenGate(gate) if isinstance(gate, str) else gate
    app.router.add_post("/whip/{guest}", post_offer)
    app.router.add_route("OPTIONS", "/whip/{guest}", preflight(ENDPOINT_METHODS))
    app.router.add_delete("/whip/session/{session_id}", delete_session)
    app.router.add_patch("/whip/session/{session_id}", patch_session)
    app.router.add_route("OPTIONS", "/whip/session/{session_id}", preflight(RESOURCE_METHODS))
    app.on_response_prepare.append(add_cors)
