"""One take of a Chromium guest recorded at the studio and in its own browser: join through
the real guest page, record for a while, hang up, and wait for the browser's file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from support.cdp import Chromium
from support.guest_server import running_server


async def recorded_take(out: Path, profile: Path, name: str, flags: list[str],
                        seconds: float = 9.0) -> list[dict[str, Any]]:
    """Record `name` (both at the studio and in the browser, VP8 at 1000 kbps) for `seconds`
    after the browser's recording started; returns the page's finished recordings."""
    async with running_server(out, record=1000, codec="vp8", record_at="both") as server:
        async with Chromium(profile, extra_flags=flags) as browser:
            page = await browser.open(f"{server.base}/?name={name}&token={server.token}")
            await page.wait_for("window.guestState.media", 15)
            await page.evaluate("document.getElementById('join').click()")
            await page.wait_for("window.guestRecorderState.recording", 30)
            await asyncio.sleep(seconds)
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("window.guestRecorderState.finished.length > 0", 60)
            return json.loads(await page.evaluate("JSON.stringify(window.guestRecorderState.finished)"))
