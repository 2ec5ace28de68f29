"""The guest page in headless Chromium: told at once when the studio ends the session,
and rejoining by itself, under its name, when its network drops.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from support.cdp import CHROMIUM, Chromium
from support.counting_sink import CountingSink
from support.guest_server import running_server
from support.link_rig import STUDIO_ADDR, LinkRig, NetnsLoop
from support.media_probe import probe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

STATE = "JSON.stringify(window.guestState)"
STATUS = "document.getElementById('status').textContent"
OUTAGE_WAIT = 10.0  # the page must notice a drop within the 10 s outage


async def join(page) -> None:
    await page.wait_for("window.guestState.media", 15)
    await page.evaluate("document.getElementById('join').click()")
    await page.wait_for("window.guestState.connected", 20)
    await page.wait_for("window.guestState.recording", 20)


def test_page_is_told_at_once_when_the_studio_stops(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, dict, str]:
        async with Chromium(tmp_path / "profile") as browser:
            async with running_server(tmp_path / "rec", record=-32) as server:
                page = await browser.open(f"{server.base}/?name=Fay&token={server.token}")
                await join(page)
                await asyncio.sleep(1)
                stopping = time.monotonic()
            # The server has stopped: every guest told, every recording finalized.
            await page.wait_for("window.guestState.ended", 5)
            told_after = time.monotonic() - stopping
            await asyncio.sleep(3)  # no attempt to come back
            return told_after, json.loads(await page.evaluate(STATE)), await page.evaluate(STATUS)

    told_after, state, status = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert status == "The studio ended the session."
    assert any(m["type"] == "ended" for m in state["messages"])
    assert not state["joined"] and not state["connected"] and not state["reconnecting"]
    assert state["reconnectAttempts"] == 0 and state["error"] is None
    assert told_after < 3.0  # not the 30 s it took the page to notice a dead studio


@pytest.mark.slow
@pytest.mark.skipif(LinkRig.available() is not None, reason=str(LinkRig.available()))
def test_page_rejoins_under_its_name_after_its_udp_drops_for_10s(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    measured: dict[str, float] = {}
    with LinkRig("reconnect") as rig:
        studio, home = NetnsLoop(rig.studio, "rig-studio"), NetnsLoop(rig.guest, "rig-guest")
        server_cm = running_server(out, record=-64, sink_factory=sink_factory, host=STUDIO_ADDR)
        server = None
        browser = None
        try:
            server = studio.call(server_cm.__aenter__())
            roster = server.sessions

            async def studio_names() -> list[str]:
                return [s["name"] for s in roster.guest_statuses()]

            # Chromium started from the guest's namespace lives in it; plain http to the
            # studio's address is allowed camera access as if it were https.
            browser = Chromium(tmp_path / "profile", extra_flags=[
                f"--unsafely-treat-insecure-origin-as-secure={server.base}"])
            home.call(browser.__aenter__(), 30)
            page = home.call(browser.open(f"{server.base}/?name=Gil&token={server.token}"), 30)
            home.call(join(page), 60)
            state = json.loads(home.call(page.evaluate(STATE)))
            measured["page_connect_ms"] = state["connectMs"]
            time.sleep(3)

            rig.block_udp()
            block_at = time.time()
            block_ms = home.call(page.evaluate("performance.now()"))
            home.call(page.wait_for("window.guestState.reconnecting", OUTAGE_WAIT), OUTAGE_WAIT + 5)
            assert home.call(page.evaluate(STATUS)) == "Reconnecting…"
            time.sleep(max(0.0, block_at + 10 - time.time()))
            rig.unblock_udp()
            unblock_at = time.time()
            home.call(page.wait_for("window.guestState.reconnects === 1 && window.guestState.connected",
                                    60), 65)
            measured["back_after_unblock_s"] = time.time() - unblock_at
            time.sleep(3)
            state = json.loads(home.call(page.evaluate(STATE)))
            measured["page_reconnect_ms"] = state["reconnectMs"]
            measured["page_noticed_ms"] = state["dropNoticedAt"] - block_ms
            names = studio.call(studio_names())
            status_text = home.call(page.evaluate(STATUS))
            home.call(page.evaluate("document.getElementById('hangup').click()"))
            home.call(page.wait_for(f"{STATUS} === 'You left the studio.'", 10), 15)
            studio.call(server_cm.__aexit__(None, None, None), 30)
            server = None
        finally:
            if browser is not None:
                home.call(browser.__aexit__(None, None, None), 30)
            if server is not None:
                studio.call(server_cm.__aexit__(None, None, None), 30)
            home.close()
            studio.close()

    print("\npage reconnect rig:", json.dumps(measured), f"attempts={state['reconnectAttempts']}")
    assert names == ["Gil"] and state["guest"] == "Gil"
    assert status_text == "Connected to the studio as Gil (reconnected)."
    assert state["recording"] and state["error"] is None
    (sink,) = sinks
    assert sink.counts["connected"] == 1 and sink.counts["disconnected"] == 1
    sidecars = {p.parent / json.loads(p.read_text())["file"]: json.loads(p.read_text())
                for p in out.rglob("Gil *.json")}
    takes = sorted((s["take"]["part"], s["take"]["id"], path) for path, s in sidecars.items())
    assert len({t[1] for t in takes}) == 1 and len(takes) >= 2, takes
    assert len({t[2].parent for t in takes}) == 1  # one session folder for the take
    for _, _, path in takes:
        assert float(probe(path)["format"]["duration"]) > 1.0
