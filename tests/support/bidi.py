"""Drive Debian's headless Firefox ESR through WebDriver BiDi, which it speaks natively.

    async with Firefox(tmp_path / "firefox") as browser:
        page = await browser.open("http://127.0.0.1:8080/?name=Alice")
        await page.wait_for("window.guestState && window.guestState.media")
        await page.evaluate("document.getElementById('join').click()")

No geckodriver: Firefox itself listens on a WebSocket (--remote-debugging-port) and takes
session.new, browsingContext.* and script.* there. The profile's user.js gives it a fake
camera and microphone granted without asking, has it offer its host candidates as they are
(the studio is on this machine) and turns off everything that would reach the network on
its own. The browser runs in its own process group, which goes (with the profile) when the
block ends, also when a test fails.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import aiohttp

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"

PREFS: dict[str, Any] = {
    # A fake camera and microphone, granted without a prompt.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.autoplay.default": 0,
    # Host candidates as they are (no mDNS names), loopback ones too: the studio is on this machine.
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.default_address_only": False,
    # Nothing of its own on the network.
    "network.dns.disableIPv6": True,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.proxy.type": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.newtabpage.enabled": False,
    "browser.aboutwelcome.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.search.update": False,
    "browser.region.network.url": "",
    "browser.topsites.contile.enabled": False,
    "browser.ping-centre.telemetry": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "services.settings.server": "",
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.http.speculative-parallel-limit": 0,
    "security.OCSP.enabled": 0,
    "identity.fxaccounts.enabled": False,
    "dom.push.enabled": False,
    "geo.provider.network.url": "",
    "captivedetect.canonicalURL": "",
}

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BidiError(RuntimeError):
    pass


def remote_value(value: dict | None) -> Any:
    """A BiDi RemoteValue as plain Python (objects and maps as dicts, arrays as lists)."""
    if not value:
        return None
    kind, inner = value.get("type"), value.get("value")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return inner
    if kind == "number":
        return {"NaN": float("nan"), "-0": -0.0, "Infinity": float("inf"),
                "-Infinity": float("-inf")}.get(inner, inner) if isinstance(inner, str) else inner
    if kind in ("array", "set"):
        return [remote_value(v) for v in inner or []]
    if kind in ("object", "map"):
        return {(k if isinstance(k, str) else str(remote_value(k))): remote_value(v) for k, v in inner or []}
    return inner if inner is not None else kind


class Page:
    """One browsing context (tab) of the session."""

    def __init__(self, browser: Firefox, context: str) -> None:
        self.browser = browser
        self.context = context

    @property
    def console(self) -> list[str]:
        return self.browser.console

    async def navigate(self, url: str) -> None:
        await self.browser.send("browsingContext.navigate",
                                {"context": self.context, "url": url, "wait": "complete"})

    async def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate JavaScript (awaiting promises) and return its value."""
        result = await self.browser.send("script.evaluate", {
            "expression": expression, "target": {"context": self.context}, "awaitPromise": True,
            "resultOwnership": "none",
        }, timeout)
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BidiError(f"{expression[:80]}: {details.get('text')}")
        return remote_value(result.get("result"))

    async def call(self, function: str, *args: str | int | float | bool | None, timeout: float = 30) -> Any:
        """Call a JavaScript function declaration with primitive arguments."""
        def arg(v):
            if v is None:
                return {"type": "null"}
            if isinstance(v, bool):
                return {"type": "boolean", "value": v}
            if isinstance(v, (int, float)):
                return {"type": "number", "value": v}
            return {"type": "string", "value": str(v)}
        result = await self.browser.send("script.callFunction", {
            "functionDeclaration": function, "arguments": [arg(a) for a in args], "awaitPromise": True,
            "target": {"context": self.context}, "resultOwnership": "none",
        }, timeout)
        if result.get("type") == "exception":
            raise BidiError(f"{function[:80]}: {result.get('exceptionDetails', {}).get('text')}")
        return remote_value(result.get("result"))

    async def click(self, selector: str) -> None:
        """A real mouse click on the element's middle, through BiDi input: a user gesture,
        unlike element.click() in script (autoplay rules tell the two apart)."""
        found = await self.browser.send("script.evaluate", {
            "expression": f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                          " e.scrollIntoView({block: 'center'}); return e; })()",
            "target": {"context": self.context}, "awaitPromise": False, "resultOwnership": "root",
        })
        element = found.get("result", {})
        if element.get("type") != "node":
            raise BidiError(f"no element {selector}: {element}")
        await self.browser.send("input.performActions", {"context": self.context, "actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "x": 0, "y": 0,
                 "origin": {"type": "element", "element": {"sharedId": element["sharedId"]}}},
                {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0},
            ]}]})
        await self.browser.send("input.releaseActions", {"context": self.context})

    async def wait_for(self, expression: str, timeout: float = 20, interval: float = 0.1) -> Any:
        """Poll until the expression is truthy; returns its value. An expression that throws
        is polled again (the page's module scripts make its objects after the load event)."""
        deadline = asyncio.get_running_loop().time() + timeout
        error: BidiError | None = None
        while True:
            try:
                value = await self.evaluate(expression)
                if value:
                    return value
            except BidiError as exc:
                error = exc
            if asyncio.get_running_loop().time() > deadline:
                last = f" (last: {error})" if error else ""
                raise TimeoutError(f"waited {timeout}s for: {expression}{last}")
            await asyncio.sleep(interval)


class Firefox:
    def __init__(
        self, profile_dir: Path, prefs: dict[str, Any] | None = None, binary: str | None = None,
    ) -> None:
        self.profile_dir = Path(profile_dir)
        self.binary = binary or FIREFOX
        self.prefs = {**PREFS, **(prefs or {})}
        self.process: asyncio.subprocess.Process | None = None
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.console: list[str] = []
        self.stderr: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []

    def _write_profile(self) -> None:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in self.prefs.items()]
        (self.profile_dir / "user.js").write_text("\n".join(lines) + "\n")

    async def __aenter__(self) -> Firefox:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        self._write_profile()
        self.process = await asyncio.create_subprocess_exec(
            self.binary, "--headless", "--no-remote", "--remote-debugging-port", "0",
            "--profile", str(self.profile_dir), "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": str(self.profile_dir), "MOZ_CRASHREPORTER_DISABLE": "1"},
            start_new_session=True,  # its own process group: the content processes go with it
        )
        url = await asyncio.wait_for(self._listening_url(), 60)
        self._tasks.append(asyncio.ensure_future(self._drain_stderr()))
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url.rstrip("/") + "/session", max_msg_size=0)
        self._tasks.append(asyncio.ensure_future(self._read()))
        await self.send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})
        await self.send("session.subscribe", {"events": ["log.entryAdded"]})

    async def _listening_url(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        while True:
            line = await self.process.stderr.readline()
            if not line:
                raise BidiError(f"firefox exited before listening: {self.stderr[-10:]}")
            text = line.decode(errors="replace").rstrip()
            self.stderr.append(text)
            found = LISTENING.search(text)
            if found:
                return found.group(1)

    async def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())
            del self.stderr[:-200]

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data.get("id") in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "log.entryAdded":
                entry = data["params"]
                self.console.append(f"{entry.get('level')}: {entry.get('text')}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BidiError("the BiDi connection closed"))

    async def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> dict:
        assert self.ws is not None
        number = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        await self.ws.send_json({"id": number, "method": method, "params": params or {}})
        reply = await asyncio.wait_for(future, timeout)
        if reply.get("type") == "error" or "error" in reply:
            raise BidiError(f"{method}: {reply.get('error')}: {reply.get('message')}")
        return reply.get("result", {})

    async def open(self, url: str) -> Page:
        """The first tab, navigated to url (and loaded)."""
        tree = await self.send("browsingContext.getTree", {})
        page = Page(self, tree["contexts"][0]["context"])
        await page.navigate(url)
        await page.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")
        return page

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None and not self.ws.closed:
            try:
                await asyncio.wait_for(self.send("session.end", {}, timeout=5), 6)
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass
            await self.ws.close()
        for task in self._tasks:
            task.cancel()
        if self.http is not None:
            await self.http.close()
        if self.process is not None:
            await self._stop_process_group()
        shutil.rmtree(self.profile_dir, ignore_errors=True)

    async def _stop_process_group(self) -> None:
        assert self.process is not None
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                await asyncio.wait_for(self.process.wait(), wait)
                break
            except TimeoutError:
                continue
        try:  # content processes left in the group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
