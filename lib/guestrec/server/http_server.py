"""The engine's HTTP server: TLS when guests reach it from off this machine, the
connection guard, and the guest app over the running ingest."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from aiohttp import web

from .netaddr import is_loopback, link_host
from .settings import EngineError, EngineSettings


def server_tls(settings: EngineSettings, tls_dir: Path) -> ssl.SSLContext | None:
    """The TLS context to serve with, None for plain HTTP (loopback without a cert)."""
    s = settings
    if not (s.cert or not is_loopback(s.host)):
        return None
    from .certificates import ensure_self_signed
    from .certificates import ssl_context as make_ssl_context

    cert, key = s.cert, s.key
    if cert is None or key is None:
        cert, key = ensure_self_signed(
            tls_dir, [s.host, link_host(s.host), "localhost", "127.0.0.1"])
    return make_ssl_context(cert, key)


async def serve_app(
    settings: EngineSettings, ingest: Any, uploads: Any, ssl_context: ssl.SSLContext | None,
    access: Any = None, control: Any = None,
) -> web.AppRunner:
    """Listen on the settings' host and port; EngineError when the port cannot be had.
    `access` keeps the roles (default: the settings' token alone); `control`: the
    control room to serve."""
    from .web_app import build_app
    from .web_guard import KEEPALIVE_SECONDS, ConnectionGuard, GuardedSite

    s = settings
    guard = ConnectionGuard()
    app = build_app(ingest, access if access is not None else s.token, guard,
                    getattr(ingest, "add_routes", None), uploads=uploads, control=control)
    runner = web.AppRunner(app, access_log=None,
                           keepalive_timeout=KEEPALIVE_SECONDS)
    await runner.setup()
    site = GuardedSite(runner, s.host or None, s.port, ssl_context=ssl_context, guard=guard)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise EngineError(f"cannot listen on {s.host}:{s.port}: {exc.strerror or exc}") from exc
    return runner
