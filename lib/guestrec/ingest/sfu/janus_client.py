"""A small client for Janus's HTTP API (long poll): sessions, plugin handles, requests.

    session = JanusSession("http://host:8088/janus", api_secret="...")
    await session.open()                         # creates the session, starts polling
    handle = await session.attach("janus.plugin.videoroom")
    data, jsep = await handle.request({"request": "join", ...}, jsep=None)
    handle.on_event = lambda data, jsep: ...     # plugin events nobody asked for
    await session.close()

A request Janus answers at once ("success") returns its plugin data; one it acknowledges
("ack") waits for the event that carries the same transaction. Plugin errors raise
JanusError. When Janus cannot be reached or no longer knows the session (it restarted),
every waiting request fails with JanusGone and `on_lost(reason)` is called once: the
session is dead and a new one must be made.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

Json = dict[str, Any]
REQUEST_TIMEOUT_S = 10.0
KEEPALIVE_S = 20.0  # Janus drops a session after 60 s without a request
POLL_EVENTS = 10
POLL_ATTEMPTS = 3  # failed long polls in a row before the session counts as lost
POLL_RETRY_S = 1.0
SESSION_UNKNOWN = 458  # JANUS_ERROR_SESSION_NOT_FOUND
HANDLE_UNKNOWN = 459


class JanusError(Exception):
    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(f"{reason} (Janus error {code})" if code else reason)
        self.reason, self.code = reason, code


class JanusGone(JanusError):
    """Janus is unreachable or forgot the session."""


def _transaction() -> str:
    return secrets.token_hex(8)


class JanusHandle:
    """One attached plugin handle."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id
        # Unsolicited plugin events: (plugin data, jsep or None).
        self.on_event: Callable[[Json, Json | None], None] | None = None
        # Core events about this handle: "webrtcup", "hangup", "media", "detached"...
        self.on_core_event: Callable[[Json], None] | None = None

    async def request(self, body: Json, jsep: Json | None = None,
                      timeout: float = REQUEST_TIMEOUT_S) -> tuple[Json, Json | None]:
        message: Json = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        reply = await self.session.send(message, handle=self, timeout=timeout)
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data or "error" in data:
            raise JanusError(str(data.get("error", "plugin error")), data.get("error_code"))
        return data, reply.get("jsep")

    async def detach(self) -> None:
        try:
            await self.session.send({"janus": "detach"}, handle=self, timeout=5)
        except JanusError as exc:
            log.debug("detaching handle %s: %s", self.id, exc)
        self.session.forget(self)

    def dispatch(self, message: Json) -> None:
        try:
            if message.get("janus") == "event":
                if self.on_event is not None:
                    data = message.get("plugindata", {}).get("data", {})
                    self.on_event(data, message.get("jsep"))
            elif self.on_core_event is not None:
                self.on_core_event(message)
        except Exception:
            log.exception("handling a Janus event failed")


class JanusSession:
    def __init__(self, url: str, api_secret: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret or None
        self.id: int | None = None
        self.on_lost: Callable[[str], None] | None = None
        self.lost: str | None = None
        self._http: aiohttp.ClientSession | None = None
        self._handles: dict[int, JanusHandle] = {}
        self._waiting: dict[str, asyncio.Future[Json]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- life ---------------------------------------------------------------------

    async def open(self) -> None:
        self._http = aiohttp.ClientSession()
        try:
            reply = await self._post(self.url, {"janus": "create"}, REQUEST_TIMEOUT_S)
        except BaseException:
            await self._http.close()
            raise
        self.id = int(reply["data"]["id"])
        self._tasks = [asyncio.ensure_future(self._poll()), asyncio.ensure_future(self._keepalive())]

    async def attach(self, plugin: str) -> JanusHandle:
        reply = await self.send({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self._handles[handle.id] = handle
        return handle

    def forget(self, handle: JanusHandle) -> None:
        self._handles.pop(handle.id, None)

    async def close(self) -> None:
        """Destroy the session (if Janus still has it) and stop polling."""
        if self.lost is None and self.id is not None and self._http is not None:
            try:
                await self._post(f"{self.url}/{self.id}", {"janus": "destroy"}, 3)
            except (TimeoutError, JanusError):
                pass
        self.lost = self.lost or "closed"
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_waiting(JanusGone("the Janus session was closed"))
        if self._http is not None:
            await self._http.close()

    # -- requests -----------------------------------------------------------------

    async def send(self, message: Json, handle: JanusHandle | None = None,
                   timeout: float = REQUEST_TIMEOUT_S) -> Json:
        """Send a request on the session (or a handle); the "success" reply or the event
        that answers an "ack"."""
        if self.lost is not None or self.id is None:
            raise JanusGone(f"the Janus session is gone ({self.lost})")
        url = f"{self.url}/{self.id}" + (f"/{handle.id}" if handle else "")
        transaction = _transaction()
        waiter: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        try:
            reply = await self._post(url, message, timeout, transaction)
            if reply.get("janus") != "ack":
                return reply
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            raise JanusError(f"Janus did not answer {message.get('janus')} in {timeout:.0f} s") from None
        finally:
            self._waiting.pop(transaction, None)

    async def _post(self, url: str, message: Json, timeout: float,
                    transaction: str | None = None) -> Json:
        assert self._http is not None
        body = dict(message, transaction=transaction or _transaction())
        if self.api_secret:
            body["apisecret"] = self.api_secret
        try:
            async with self._http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                reply = await resp.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            raise JanusGone(f"Janus at {self.url} cannot be reached: {exc}") from None
        except TimeoutError:
            raise JanusError(f"Janus did not answer {message.get('janus')} in {timeout:.0f} s") from None
        return self._check(reply)

    def _check(self, reply: Any) -> Json:
        if not isinstance(reply, dict):
            raise JanusError(f"Janus answered something unexpected: {str(reply)[:200]}")
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            code = error.get("code")
            kind = JanusGone if code == SESSION_UNKNOWN else JanusError
            raise kind(str(error.get("reason", "error")), code)
        return reply

    # -- events -------------------------------------------------------------------

    async def _poll(self) -> None:
        assert self._http is not None
        params = {"maxev": str(POLL_EVENTS)}
        if self.api_secret:
            params["apisecret"] = self.api_secret
        failures = 0
        while True:
            try:
                async with self._http.get(f"{self.url}/{self.id}", params=params,
                                          timeout=aiohttp.ClientTimeout(total=45)) as resp:
                    reply = await resp.json(content_type=None)
                failures = 0
                messages = reply if isinstance(reply, list) else [reply]
                for message in messages:
                    self._check(message)
                    self._route(message)
            except asyncio.CancelledError:
                raise
            except JanusGone as exc:
                self.lose(str(exc))
                return
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                # A blip on the way is survived (Janus keeps a session 60 s); a Janus that
                # stays unreachable, or comes back without our session (458), is not.
                failures += 1
                if failures >= POLL_ATTEMPTS:
                    self.lose(f"Janus at {self.url} cannot be reached: {exc or type(exc).__name__}")
                    return
                await asyncio.sleep(POLL_RETRY_S)
            except JanusError as exc:
                # A restarted Janus answers a poll for a session it never had with nothing
                # at all; a keepalive tells (458 when the session is unknown).
                log.warning("Janus event poll: %s", exc)
                try:
                    await self._post(f"{self.url}/{self.id}", {"janus": "keepalive"}, 5)
                except JanusGone as gone:
                    self.lose(str(gone))
                    return
                except JanusError:
                    pass
                await asyncio.sleep(POLL_RETRY_S)  # never a busy loop on a repeated error

    def _route(self, message: Json) -> None:
        kind = message.get("janus")
        if kind == "keepalive":
            return
        waiter = self._waiting.get(str(message.get("transaction")))
        if waiter is not None and kind == "event" and not waiter.done():
            waiter.set_result(message)
            return
        handle = self._handles.get(int(message.get("sender") or 0))
        if handle is not None:
            handle.dispatch(message)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            try:  # answered with a bare "ack", no event follows
                await self._post(f"{self.url}/{self.id}", {"janus": "keepalive"}, 5)
            except JanusGone as exc:
                self.lose(str(exc))
                return
            except JanusError as exc:
                log.warning("Janus keepalive: %s", exc)

    def lose(self, reason: str) -> None:
        if self.lost is not None:
            return
        self.lost = reason
        log.warning("Janus session lost: %s", reason)
        self._fail_waiting(JanusGone(reason))
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        if self.on_lost is not None:
            try:
                self.on_lost(reason)
            except Exception:
                log.exception("on_lost failed")

    def _fail_waiting(self, exc: JanusError) -> None:
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(exc)
