"""The control room page in real headless Chromium against the real guest server with
real aiortc guests: cards appear when guests join (the delay measured), recording time
moves without a reload, the picture changes, Hang up on one card ends that guest only,
Hold and Talkback show on the card, Export last session exports, and the layout holds in
an OBS dock (400 px wide) and full screen.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import aiohttp
import av
import pytest

from support.cdp import CHROMIUM, Chromium, Page
from support.guest_server import RunningServer, running_server
from support.page_layout import assert_fits, boxes_and_screenshot, keep_screenshot
from support.whip_client import WhipClient

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

# When each card first appeared, by the page's own clock (Date.now(), the machine's).
WATCH_CARDS = """(() => {
  window.cardSeenAt = {};
  const note = () => document.querySelectorAll('.card').forEach((card) => {
    if (!(card.dataset.name in window.cardSeenAt)) window.cardSeenAt[card.dataset.name] = Date.now();
  });
  new MutationObserver(note).observe(document.getElementById('cards'), {childList: true});
  note();
  return true;
})()"""


def card(name: str) -> str:
    return f"document.querySelector('.card[data-name={json.dumps(name)}]')"


def figure(name: str, label: str) -> str:
    inside = f"querySelector('dd[data-figure={json.dumps(label)}]')"
    return f"(({card(name)} || document).{inside} || {{}}).textContent"


async def open_control_room(browser: Chromium, server: RunningServer, width: int, height: int) -> Page:
    page = await browser.open(f"{server.base}/control#key={server.operator_key}")
    await page.send("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    await page.wait_for("window.controlRoom && window.controlRoom.link === 'live'", 10)
    # The key left the address bar (screen shares, history) but stays for a reload.
    assert "key=" not in await page.evaluate("location.href")
    return page


async def picture(server: RunningServer, name: str) -> bytes:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/api/guests/{name}/picture", headers=server.operator()) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
            return await resp.read()


def test_cards_follow_the_guests_live_and_hang_up_ends_one(tmp_path: Path) -> None:
    async def scenario() -> dict:
        result: dict = {}
        async with running_server(tmp_path / "rec", record=800, pictures=True) as server:
            async with Chromium(tmp_path / "profile") as browser:
                page = await open_control_room(browser, server, 1280, 900)
                await page.evaluate(WATCH_CARDS)
                async with WhipClient(server.whip_url("Alice"), server.token) as alice:
                    offered_ms = time.time() * 1000
                    await alice.publish()
                    answered_ms = time.time() * 1000
                    await page.wait_for(f"!!{card('Alice')}", 5)
                    seen_ms = await page.evaluate("window.cardSeenAt['Alice']")
                    result["card_delay_ms"] = seen_ms - answered_ms
                    result["offer_to_card_ms"] = seen_ms - offered_ms
                    await page.wait_for(f"{card('Alice')}.dataset.state === 'recording'", 15)
                    result["recording_after_s"] = time.time() - answered_ms / 1000
                    first = await page.evaluate(figure("Alice", "recorded"))
                    await asyncio.sleep(2.2)
                    later = await page.evaluate(figure("Alice", "recorded"))
                    result["recorded"] = (first, later)
                    # The picture: shown on the card, refreshed, and a real JPEG that changes.
                    await page.wait_for(f"Number({card('Alice')}.dataset.pictures) >= 2", 10)
                    result["natural_width"] = await page.evaluate(
                        f"{card('Alice')}.querySelector('img.picture').naturalWidth")
                    one = await picture(server, "Alice")
                    await asyncio.sleep(1.2)
                    two = await picture(server, "Alice")
                    result["pictures_differ"] = one != two
                    with av.open(io.BytesIO(two)) as jpeg:
                        frame = next(jpeg.decode(video=0))
                        result["picture_size"] = (frame.width, frame.height)

                    async with WhipClient(server.whip_url("Bob"), server.token) as bob:
                        await bob.publish()
                        await bob.wait_connected()
                        await page.wait_for(
                            f"!!{card('Bob')} && {card('Bob')}.dataset.state === 'recording'", 15)
                        hang_up = f"{card('Bob')}.querySelector('button.hangup')"
                        await page.evaluate(f"{hang_up}.click()")  # asks once more, on the button
                        assert await page.evaluate(f"{hang_up}.textContent") == "Sure? Hang up"
                        await page.evaluate(f"{hang_up}.click()")
                        message = await bob.wait_message(lambda m: m.get("type") == "hangup", 10)
                        result["bob_told"] = message
                        await page.wait_for(f"!{card('Bob')}", 10)
                        for _ in range(100):
                            if bob.pc.connectionState == "closed":
                                break
                            await asyncio.sleep(0.05)
                        result["bob_connection"] = bob.pc.connectionState
                        result["names_left"] = [s["name"] for s in server.sessions.guest_statuses()]
                        result["alice_card"] = await page.evaluate(f"{card('Alice')}.dataset.state")
                    result["alice_connection"] = alice.pc.connectionState
                result["console"] = [line for line in page.console if "exception" in line]
        return result

    result = asyncio.run(asyncio.wait_for(scenario(), 120))
    print(f"join (201 answer) to card: {result['card_delay_ms']:.0f} ms, from the start of the offer: "
          f"{result['offer_to_card_ms']:.0f} ms; recording shown {result['recording_after_s']:.1f} s "
          f"after the answer; recorded {result['recorded']}; picture {result['picture_size']}")
    assert result["card_delay_ms"] < 2000, result
    first, later = result["recorded"]
    assert first and later and first != later, result["recorded"]
    assert result["natural_width"] == 320 and result["picture_size"][0] == 320
    assert result["pictures_differ"]
    assert result["bob_connection"] == "closed" and result["names_left"] == ["Alice"]
    assert result["alice_card"] == "recording" and result["alice_connection"] == "connected"
    assert not result["console"], result["console"]


# What must be usable in a dock: every control of a card and of the show.
BOXES = """(() => {
  const out = {};
  const take = (key, el) => {
    if (!el || el.hidden || el.offsetParent === null) return;
    const r = el.getBoundingClientRect();
    out[key] = [r.left, r.top, r.right, r.bottom];
  };
  document.querySelectorAll('.card').forEach((c, i) => {
    take('card' + i, c);
    c.querySelectorAll('button, input, img.picture, .badge')
      .forEach((el, j) => take('card' + i + ':' + j, el));
  });
  ['start-all', 'stop-all', 'invite-name', 'invite-expiry', 'make-invite']
    .forEach((id) => take(id, document.getElementById(id)));
  document.querySelectorAll('#invite-list button').forEach((el, j) => take('invite:' + j, el));
  out._width = document.documentElement.clientWidth;
  out._scrollWidth = document.documentElement.scrollWidth;
  return out;
})()"""


@pytest.mark.parametrize("viewport", ["dock", "full"])
def test_control_room_layout_holds(tmp_path: Path, viewport: str) -> None:
    width, height = {"dock": (400, 900), "full": (1600, 900)}[viewport]
    shot = tmp_path / f"control_room_{viewport}.png"

    async def scenario() -> dict:
        async with running_server(tmp_path / "rec", record=800, pictures=True) as server:
            invite = server.control.make_invite("Ann with a rather long name for a narrow dock", None)
            async with Chromium(tmp_path / "profile") as browser, \
                    WhipClient(server.whip_url("Alice"), server.token) as alice, \
                    WhipClient(server.whip_url("Bob"), server.token) as bob:
                await alice.publish()
                await bob.publish()
                page = await open_control_room(browser, server, width, height)
                await page.wait_for("document.querySelectorAll('.card[data-pictures]').length === 2", 15)
                row = f"#invite-list li[data-id={json.dumps(invite['id'])}]"
                await page.wait_for(f"!!document.querySelector({json.dumps(row)})", 5)
                return await boxes_and_screenshot(page, BOXES, shot)

    boxes = asyncio.run(asyncio.wait_for(scenario(), 90))
    keep_screenshot(shot)
    assert_fits(boxes)
    assert {"card0", "card1", "start-all", "make-invite", "invite:0"} <= set(boxes), sorted(boxes)
    buttons = [b for k, b in boxes.items() if k.startswith("card0:")]
    clashes = [(a, b) for i, a in enumerate(buttons) for b in buttons[i + 1:]
               if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1]
    assert not clashes, f"controls overlap at {viewport}: {clashes}"
    same_row = abs(boxes["card0"][1] - boxes["card1"][1]) < 1
    assert same_row == (viewport == "full"), boxes  # side by side full screen, stacked in a dock


def test_the_guest_page_says_why_an_invite_is_refused_and_a_good_one_names_the_guest(tmp_path: Path) -> None:
    async def join(browser: Chromium, link: str, typed: str | None = None) -> Page:
        page = await browser.open(link)
        await page.wait_for("window.guestState && window.guestState.media", 15)
        if typed is not None:
            await page.evaluate(f"document.getElementById('name').value = {json.dumps(typed)}")
        await page.evaluate("document.getElementById('join').click()")
        return page

    async def scenario() -> dict:
        out = {}
        async with running_server(tmp_path / "rec", record=800) as server:
            revoked = server.control.make_invite("Ann", None)
            await server.control.revoke_invite(revoked["id"], hang_up=False)
            expired = server.control.make_invite("Bo", 1)
            good = server.control.make_invite("Cy", None)
            await asyncio.sleep(1.1)
            async with Chromium(tmp_path / "profile") as browser:
                for key, invite in (("revoked", revoked), ("expired", expired)):
                    page = await join(browser, invite["link"])
                    out[key] = await page.wait_for("window.guestState.error", 10)
                page = await join(browser, good["link"], typed="Somebody else")
                await page.wait_for("window.guestState.recording", 20)
                out["status"] = await page.evaluate("document.getElementById('status').textContent")
                out["names"] = [s["name"] for s in server.sessions.guest_statuses()]
        return out

    out = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert out["revoked"] == "This invite link was withdrawn by the studio. Ask the studio for a new link."
    assert out["expired"] == "This invite link has expired. Ask the studio for a new link."
    assert out["names"] == ["Cy"] and "as Cy" in out["status"], out


def test_hold_talkback_and_export_from_the_control_room(tmp_path: Path) -> None:
    """On the engine as OBS runs it (a return feed): Hold shows "On hold" on the guest's
    card and back, the held-down Talkback shows while held, and Export last session says
    which file still records, then, once the session ended, exports it."""
    from guestrec.server.engine import Engine, EngineSettings
    from obs_launcher.obs_config import free_port

    out = tmp_path / "rec"
    engine = Engine(EngineSettings(out_dir=out, port=free_port(), record="500", ice_servers="[]"))
    engine.start()

    def badge(name: str) -> str:
        return f"{card(name)}.querySelector('.badge.return')"

    async def scenario() -> dict:
        got: dict = {}
        async with Chromium(tmp_path / "profile") as browser:
            page = await browser.open(engine.control_link)
            await page.wait_for("window.controlRoom && window.controlRoom.link === 'live'", 10)
            async with WhipClient(f"{engine.base_url}/whip/Alice", engine.token) as alice:
                await alice.publish()
                await page.wait_for(f"!!{card('Alice')} && {card('Alice')}.dataset.state === 'recording'", 15)
                hold = f"{card('Alice')}.querySelector('button.hold')"
                got["hold_before"] = await page.evaluate(f"[{hold}.textContent, {badge('Alice')}.hidden]")
                await page.evaluate(f"{hold}.click()")
                await page.wait_for(f"{card('Alice')}.dataset.held === '1'", 5)
                got["held"] = await page.evaluate(
                    f"[{badge('Alice')}.textContent, {badge('Alice')}.hidden, {hold}.textContent]")
                got["engine_held"] = engine._studio.returns.mixer.held("Alice")
                await page.evaluate(f"{hold}.click()")
                await page.wait_for(f"{card('Alice')}.dataset.held === ''", 5)
                got["released"] = await page.evaluate(f"[{badge('Alice')}.hidden, {hold}.textContent]")

                talk = f"{card('Alice')}.querySelector('button.talkback')"
                await page.evaluate(f"{talk}.dispatchEvent(new PointerEvent('pointerdown'))")
                await page.wait_for(f"{card('Alice')}.dataset.talkback === '1'", 5)
                got["talking"] = await page.evaluate(f"[{badge('Alice')}.textContent, {talk}.textContent]")
                got["engine_talking_to"] = engine._studio.returns.talking_to
                await page.evaluate(f"{talk}.dispatchEvent(new PointerEvent('pointerup'))")
                await page.wait_for(f"{card('Alice')}.dataset.talkback === ''", 5)

                # Export while Alice records (her file written): the page says which file.
                for _ in range(100):
                    if [g for g in engine.guests() if g.get("file_bytes")]:
                        break
                    await asyncio.sleep(0.1)
                await page.evaluate("document.getElementById('export-last').click()")
                await page.wait_for("document.getElementById('export-note').dataset.state === 'failed'", 30)
                got["refused"] = await page.evaluate(
                    "[document.getElementById('export-note').textContent, "
                    "document.getElementById('export-note').className]")
            folder = next(out.glob("Session *"))
            for _ in range(100):
                if json.loads((folder / "session.json").read_text()).get("ended"):
                    break
                await asyncio.sleep(0.1)
            await page.evaluate("document.getElementById('export-last').click()")
            await page.wait_for("document.getElementById('export-note').dataset.state === 'done'", 60)
            got["done"] = await page.evaluate(
                "[document.getElementById('export-note').textContent, "
                "[...document.querySelectorAll('#export-lines li')].map((li) => li.textContent), "
                "document.getElementById('export-last').disabled]")
            got["folder"] = folder
            got["console"] = [line for line in page.console if "exception" in line]
        return got

    try:
        got = asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        engine.stop(timeout=20)
    assert got["hold_before"] == ["Hold", True]
    assert got["held"] == ["On hold", False, "Release hold"] and got["engine_held"], got["held"]
    assert got["released"] == [True, "Hold"]
    assert got["talking"] == ["Talkback", "Talking…"] and got["engine_talking_to"] == "Alice"
    text, classes = got["refused"]
    assert "still recording (Alice " in text and "bad" in classes, got["refused"]
    folder = got["folder"]
    text, lines, disabled = got["done"]
    assert text.startswith(f"Exported {folder.name}: ") and str(folder / "export") in text, text
    assert "session.otio written" in lines and not disabled, lines
    for name in ("session.otio", "session.fcpxml", "session.kdenlive", "README.txt", "stems/Alice.wav"):
        assert (folder / "export" / name).is_file(), name
    assert not got["console"], got["console"]
