"""Drive Debian's headless Chromium through the DevTools protocol, with aiohttp only.

    async with Chromium(tmp_path) as browser:
        page = await browser.open("http://127.0.0.1:8080/?name=Alice")
        await page.wait_for("window.guestState && window.guestState.media")
        await page.evaluate("document.getElementById('join').click()")
        await page.screenshot(tmp_path / "page.png")

Chromium gets a fake camera and microphone (a test pattern and a beep) and grants them
without asking; it is kept off the network (no background services, no QUIC).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
    "--window-size=900,1000", "--remote-debugging-port=0",
]


class CdpError(RuntimeError):
    pass


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession) -> None:
        self._ws = ws
        self._session = session
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.console: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(data["params"]["exceptionDetails"])[:500])
        for future in self._pending.values():
            future.set_exception(CdpError("the page's DevTools connection closed"))

    async def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> dict:
        number = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        await self._ws.send_json({"id": number, "method": method, "params": params or {}})
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply["result"]

    async def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate JavaScript (awaiting promises) and return its JSON value."""
        result = await self.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
        }, timeout)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20, interval: float = 0.1) -> Any:
        """Poll until the expression is truthy; returns its value. An expression that
        throws (e.g. a page object its module scripts have not made yet) is polled again;
        the last error is part of the timeout's message."""
        deadline = asyncio.get_running_loop().time() + timeout
        last_error: CdpError | None = None
        while True:
            try:
                value = await self.evaluate(expression)
            except CdpError as exc:
                value, last_error = None, exc
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                detail = f" (last error: {last_error})" if last_error is not None else ""
                raise TimeoutError(f"waited {timeout}s for: {expression}{detail}")
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        Path(path).write_bytes(base64.b64decode(result["data"]))
        return Path(path)

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()


class Chromium:
    def __init__(
        self, profile_dir: Path, extra_flags: list[str] | None = None, grant_media: bool = True,
        binary: str | None = None,
    ) -> None:
        self.profile_dir = Path(profile_dir)
        self.binary = binary or CHROMIUM  # the real binary skips the wrapper's own flags
        self.extra_flags = extra_flags or []
        # Without the fake permission UI, headless Chromium refuses camera and microphone.
        self.flags = [f for f in FLAGS if grant_media or f != "--use-fake-ui-for-media-stream"]
        self.process: asyncio.subprocess.Process | None = None
        self.http: aiohttp.ClientSession | None = None
        self.port: int | None = None
        self.pages: list[Page] = []

    async def __aenter__(self) -> Chromium:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.profile_dir / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a stale one would point at a dead browser
        self.process = await asyncio.create_subprocess_exec(
            self.binary, *self.flags, *self.extra_flags, f"--user-data-dir={self.profile_dir}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "HOME": str(self.profile_dir)},
        )
        for _ in range(300):  # Chromium writes the port it picked here
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text().split()[0])
                break
            if self.process.returncode is not None:
                raise CdpError(f"chromium exited with {self.process.returncode}")
            await asyncio.sleep(0.05)
        else:
            raise CdpError("chromium did not open its DevTools port")
        self.http = aiohttp.ClientSession()
        return self

    async def open(self, url: str) -> Page:
        assert self.http is not None
        # A blank tab first: /json/new would cut the page URL at its first '&'.
        async with self.http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as resp:
            target = await resp.json(content_type=None)
        ws = await self.http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws, self.http)
        self.pages.append(page)
        await page.send("Runtime.enable")
        await page.send("Page.enable")
        await page.send("Page.navigate", {"url": url})
        await page.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")
        return page

    async def __aexit__(self, *exc: object) -> None:
        for page in self.pages:
            try:
                await page.close()
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass
        if self.http is not None:
            await self.http.close()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
