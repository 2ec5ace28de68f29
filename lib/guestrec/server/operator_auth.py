"""The operator's routes take the operator key as `Authorization: Bearer KEY` only (never
in the address, which logs and Referers carry).

A wrong or missing key gets one and the same 401 whatever the route or the guest it
names, checked before anything is looked up: a stranger learns nothing, not even which
guests exist. A guest's own credential gets 403: it lets a guest join, nothing more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..ingest.whip.http import bearer, plain
from .access import StudioAccess

ACCESS_KEY: web.AppKey[StudioAccess] = web.AppKey("guestrec_access", StudioAccess)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

WRONG_KEY = "missing or wrong operator key"
GUEST_CREDENTIAL = "a guest link lets a guest join; this needs the operator key"


def operator_key_of(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def operator_refusal(request: web.Request) -> web.Response | None:
    """None when the request carries the operator key, else the answer to give."""
    access = request.app[ACCESS_KEY]
    if access.is_operator(operator_key_of(request)):
        return None
    if access.identify(bearer(request)) is not None:
        return plain(403, GUEST_CREDENTIAL)
    response = plain(401, WRONG_KEY, {"WWW-Authenticate": 'Bearer realm="guestrec-operator"'})
    response.force_close()
    return response


def operator_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = operator_refusal(request)
        return refusal if refusal is not None else await handler(request)

    return guarded
