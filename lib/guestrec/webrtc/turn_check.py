"""Does each TURN server of the ICE setting work? One allocation per URL, when the server
starts or the setting changes, reported in plain words.

A wrong credential or a blocked port otherwise shows only later, as a guest whose
connection fails; the studio itself can use only one TURN address (see ice.py), so the
report also says when a later URL works and the one the studio uses does not.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

from aioice import stun
from aioice.turn import create_turn_endpoint

from .ice import IceSettings, IceUrl

CHECK_TIMEOUT_S = 6.0
DEFAULT_PORTS = {"turn": 3478, "turns": 5349}


@dataclass(frozen=True)
class TurnCheck:
    url: str
    ok: bool
    text: str  # e.g. "works (relay 198.51.100.7:49160, 0.04 s)" or why it failed
    used_by_studio: bool


class _Quiet(asyncio.DatagramProtocol):
    """The relayed endpoint's protocol: nothing is sent through it."""


def _why(exc: BaseException) -> str:
    if isinstance(exc, stun.TransactionFailed):
        code, reason = exc.response.attributes.get("ERROR-CODE", (0, ""))
        if code == 401:
            return (f"refused: 401 {reason or 'Unauthorized'}; check its username and credential, "
                    "or the TURN secret")
        if code == 403:
            return f"refused: 403 {reason or 'Forbidden'}; the server does not allow this allocation"
        return f"refused: {code} {reason}".rstrip()
    if isinstance(exc, (stun.TransactionTimeout, asyncio.TimeoutError)):
        return (f"no answer within {CHECK_TIMEOUT_S:.0f} s; check the address and port, and "
                "that this network lets that traffic out")
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "cannot reach it: connection refused (nothing listens on that port)"
    if isinstance(exc, OSError):
        return f"cannot reach it: {exc.strerror or exc}"
    return f"failed: {exc}"


async def check_url(url: IceUrl, username: str | None, credential: str | None,
                    timeout: float = CHECK_TIMEOUT_S) -> tuple[bool, str]:
    """Allocate a relay on one TURN URL and release it: (works?, what happened)."""
    transport = url.transport or ("tcp" if url.scheme == "turns" else "udp")
    port = url.port or DEFAULT_PORTS[url.scheme]
    tls = ssl.create_default_context() if url.scheme == "turns" else None
    started = time.monotonic()
    try:
        relay, _ = await asyncio.wait_for(
            create_turn_endpoint(_Quiet, (url.host, port), username, credential,
                                 lifetime=60, ssl=tls, transport=transport),
            timeout)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
        return False, _why(exc)
    try:
        host, relay_port = relay.get_extra_info("sockname")[:2]
        return True, f"works (relay {host}:{relay_port}, {time.monotonic() - started:.2f} s)"
    finally:
        relay.close()


async def check_turn_servers(ice: IceSettings) -> list[TurnCheck]:
    """Every TURN URL of the setting, checked side by side with the studio's credentials."""
    studio_url = next((s.urls[0] for s in ice.for_studio().servers if s.urls[0].startswith("turn")), None)
    jobs: list[tuple[IceUrl, asyncio.Task]] = []
    for server in ice.servers:
        username, credential = ice.credentials_for(server, "studio")
        for url in server.urls:
            if url.is_turn and url.studio_problem() is None:
                jobs.append((url, asyncio.ensure_future(check_url(url, username, credential))))
    results = []
    for url, job in jobs:
        ok, text = await job
        results.append(TurnCheck(url.text, ok, text, url.text == studio_url))
    return results


def report_lines(results: list[TurnCheck]) -> list[tuple[str, str]]:
    """(level, line) for the log: one per URL, and a hint when the studio's own fails."""
    lines = [("info" if r.ok else "error",
              f"TURN {r.url}{' (the studio uses this one)' if r.used_by_studio else ''}: {r.text}")
             for r in results]
    used = next((r for r in results if r.used_by_studio), None)
    working = next((r for r in results if r.ok), None)
    if used is not None and not used.ok and working is not None:
        lines.append(("warning", (f"the studio can use only one TURN address: put {working.url} "
                                  "first in the ICE servers setting")))
    return lines
