"""The guest page takes the token out of its address bar and still works after a reload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.cdp import CHROMIUM, Chromium
from support.guest_server import running_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_token_leaves_the_address_bar_and_a_reload_still_joins(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=1000) as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await browser.open(f"{server.base}/?name=Ida&token={server.token}")
                await page.wait_for("window.guestState.media", 15)
                first = await page.evaluate("location.href")
                history = await page.evaluate("history.length")
                await page.evaluate("location.reload()")
                await asyncio.sleep(1)
                await page.wait_for("window.guestState && window.guestState.media", 15)
                reloaded = await page.evaluate("location.href")
                await page.evaluate("document.getElementById('join').click()")
                await page.wait_for("window.guestState.connected", 20)
                await page.evaluate("document.getElementById('hangup').click()")
                await page.wait_for("!window.guestState.joined", 10)
                return {"first": first, "reloaded": reloaded, "history": history, "token": server.token}

    seen = asyncio.run(asyncio.wait_for(scenario(), 90))
    print(seen)
    assert seen["token"] not in seen["first"] and "name=Ida" in seen["first"]
    assert seen["token"] not in seen["reloaded"]
