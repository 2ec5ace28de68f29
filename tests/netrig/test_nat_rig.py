"""Guests from behind NATs, in a rig of network namespaces (tests/support/netrig.py).

The studio runs `python -m guestrec serve` in its home, its HTTPS port forwarded by its
router; guests (an aiortc WHIP client and headless Chromium on the guest page) run in
another home. coturn on the "internet" serves STUN and TURN, configured by install/turn.sh.
Each scenario prints its connect times and selected candidate pairs (run with -s).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from guestrec.server.certificates import ensure_self_signed
from guestrec.webrtc.ice import IceSettings, parse_ice_servers
from guestrec.webrtc.ice_status import PAIR_RELAY, PAIR_STUN, selected_pair
from support.cdp import CHROMIUM, Chromium
from support.media_probe import probe, streams_of
from support.netrig import GUEST_IP, STUDIO_IP, STUDIO_WAN, TURN_IP, NatRig, skip_reason
from support.serve_process import ServeProcess
from support.whip_client import WhipClient

REASON = skip_reason()
pytestmark = [
    pytest.mark.netrig,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]
PORT = 8443
SECONDS = 3.0  # of media per guest
STATE = "JSON.stringify(window.guestState)"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


class Studio:
    """`guestrec serve` in the studio's home, reachable at its router's public address."""

    def __init__(self, rig: NatRig, tmp: Path, ice_servers: str, turn_secret: str = "") -> None:
        self.cert, key = ensure_self_signed(tmp / "tls", [STUDIO_WAN, STUDIO_IP])
        self.out = tmp / "rec"
        rig.forward_tcp(PORT)
        extra = ["--turn-secret", turn_secret] if turn_secret else []
        self.serve = ServeProcess(
            self.out, "--host", STUDIO_IP, "--codec", "copy", "--cert", str(self.cert), "--key", str(key),
            "--ice-servers", ice_servers, *extra, prefix=["ip", "netns", "exec", rig.ns("studio")], port=PORT)
        self.url = f"https://{STUDIO_WAN}:{PORT}"
        self.token = self.serve.token
        self.operator_key = self.serve.operator_key
        self.log = ""

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def stop(self) -> str:
        self.log = self.serve.stop()
        return self.log

    def files(self, guest: str) -> list[Path]:
        return sorted(p for p in self.out.glob(f"Session */{guest} *")
                      if p.suffix in (".webm", ".mkv", ".mka"))


async def _get_json(studio: Studio, path: str) -> Any:
    # The guest list is the operator's; the ICE servers are a guest's.
    credential = studio.operator_key if path.startswith("/api/guests") else studio.token
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{studio.url}{path}", ssl=studio.ssl(),
                            headers={"Authorization": f"Bearer {credential}"}) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


def _status_of(statuses: list[dict], name: str) -> dict:
    return next(s for s in statuses if s["name"] == name)


async def aiortc_guest(studio: Studio, name: str, turn_transport: str | None = None) -> dict:
    """A WHIP client taking the studio's ICE servers as the page does; `turn_transport`
    keeps only TURN URLs of that transport (a client on a network without UDP)."""
    servers = (await _get_json(studio, f"/api/ice-servers?name={name}"))["iceServers"]
    if turn_transport:
        for server in servers:
            server["urls"] = [u for u in server["urls"] if not u.startswith("turn") or
                              u.endswith(f"transport={turn_transport}")] or server["urls"]
    ice = IceSettings(parse_ice_servers(json.dumps(servers))).for_studio().servers
    client = WhipClient(f"{studio.url}/whip/{name}", studio.token, ice_servers=ice, ssl=studio.ssl())
    try:
        started = time.monotonic()
        await client.publish()
        await client.wait_connected(20)
        connect_s = time.monotonic() - started
        own_pair = selected_pair(client.pc)
        await asyncio.sleep(SECONDS)
        status = _status_of(await _get_json(studio, "/api/guests"), name)
    finally:
        await client.close()
    return {"connect_s": connect_s, "status": status, "own_pair": own_pair, "servers": servers,
            "links": client.headers.getall("Link", [])}


async def browser_guest(studio: Studio, profile: Path, name: str, wait_connected: bool = True) -> dict:
    """Chromium on the guest page (certificate errors ignored: the rig's studio certificate
    is its own). Returns its state, what the page holds, and the studio's status."""
    async with Chromium(profile, extra_flags=["--ignore-certificate-errors"]) as browser:
        page = await browser.open(f"{studio.url}/?name={name}&token={studio.token}")
        await page.wait_for("window.guestState.media", 20)
        started = time.monotonic()
        await page.evaluate("document.getElementById('join').click()")
        result: dict[str, Any] = {}
        if wait_connected:
            await page.wait_for("window.guestState.connected", 20)
            result["connect_s"] = time.monotonic() - started
            await page.wait_for("window.guestState.recording", 10)
            await asyncio.sleep(SECONDS)
            result["status"] = _status_of(await _get_json(studio, "/api/guests"), name)
        else:
            await page.wait_for("window.guestState.mediaUnreachable", 15)
            result["failed_after_s"] = time.monotonic() - started
        result["state"] = json.loads(await page.evaluate(STATE))
        result["error_text"] = await page.evaluate("document.getElementById('error').textContent")
        # Everything the page was given: its HTML, its scripts, and its state.
        result["page_text"] = await page.evaluate(
            "Promise.all([...document.scripts].filter(s => s.src).map(s => fetch(s.src).then(r => r.text())))"
            ".then(texts => document.documentElement.outerHTML + texts.join('\\n'))")
        if wait_connected:
            await page.evaluate("document.getElementById('hangup').click()")
            await page.wait_for("!window.guestState.joined", 10)
    return result


def _check_recorded(studio: Studio, name: str) -> float:
    files = studio.files(name)
    assert files, f"no recording for {name}: {sorted(p.name for p in studio.out.iterdir())}"
    info = probe(files[0])
    assert streams_of(info, "video") and streams_of(info, "audio"), info
    duration = float(info["format"]["duration"])
    assert duration >= SECONDS - 0.5, f"{name}: {duration:.2f} s recorded"
    return duration


def _report(scenario: str, who: str, result: dict) -> None:
    print(f"\nRIG {scenario} | {who}: connected in {result['connect_s']:.2f} s, "
          f"pair {result['status']['ice_pair']}")


def test_stun_through_two_home_nats(tmp_path: Path) -> None:
    """Both homes behind ordinary routers, STUN (coturn) on both sides: direct media with
    server-reflexive candidates, for an aiortc guest and for the browser page."""
    with NatRig.build() as rig:
        _ice, _secret = rig.start_coturn(tmp_path)
        stun_only = json.dumps([{"urls": f"stun:{TURN_IP}:3478"}])
        studio = Studio(rig, tmp_path, stun_only)
        try:
            bot = rig.run_in("guest", lambda: aiortc_guest(studio, "Bot"))
            web = None
            if Path(CHROMIUM).exists():
                web = rig.run_in("guest", lambda: browser_guest(studio, tmp_path / "chrome", "Page"))
        finally:
            log = studio.stop()
    _report("STUN, two home NATs", "aiortc guest", bot)
    assert bot["status"]["ice_pair"] == PAIR_STUN, bot["status"]
    assert bot["own_pair"]["kind"] == PAIR_STUN
    assert "srflx" in bot["status"]["ice_offered"]["studio"], bot["status"]
    # The 201 told the WHIP client the studio's ICE servers (RFC 9725 4.6).
    assert bot["links"] == [f'<stun:{TURN_IP}:3478>; rel="ice-server"']
    assert re.search(r"guest 'Bot' media via STUN \(studio host 10\.71\.0\.2:\d+/udp, guest srflx", log), log
    _check_recorded(studio, "Bot")
    if web is not None:
        _report("STUN, two home NATs", "Chromium page", web)
        assert web["status"]["ice_pair"] == PAIR_STUN, web["status"]
        assert web["state"]["iceServers"] == [{"urls": [f"stun:{TURN_IP}:3478"]}]
        _check_recorded(studio, "Page")
    assert GUEST_IP not in json.dumps(bot["status"])  # guests never see others' addresses


def _check_minted(servers: list[dict], secret: str, name: str) -> None:
    turn = [s for s in servers if any(u.startswith("turn") for u in s["urls"])]
    assert turn, servers
    for server in turn:
        expiry, _, who = server["username"].partition(":")
        assert who == name
        assert 3 * 3600 < int(expiry) - time.time() <= 4 * 3600 + 5
        digest = hmac.new(secret.encode(), server["username"].encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest)
        assert server["credential"] == expected.decode()


@pytest.mark.parametrize("case", ["symmetric", "udp_blocked"])
def test_turn_through_symmetric_nat_or_without_udp(tmp_path: Path, case: str) -> None:
    """The guest's router is symmetric (fully-random masquerade), or its network drops UDP:
    only TURN gets through (over UDP, then over TCP), with credentials the studio minted
    from the secret install/turn.sh gave coturn. The page never sees the secret."""
    symmetric, block_udp = case == "symmetric", case == "udp_blocked"
    transport = "tcp" if block_udp else "udp"
    with NatRig.build(symmetric=symmetric, block_udp=block_udp) as rig:
        ice, secret = rig.start_coturn(tmp_path)
        studio = Studio(rig, tmp_path, ice, turn_secret=secret)
        try:
            bot = rig.run_in("guest", lambda: aiortc_guest(studio, "Bot", turn_transport=transport))
            web = None
            if Path(CHROMIUM).exists():
                web = rig.run_in("guest", lambda: browser_guest(studio, tmp_path / "chrome", "Page"))
        finally:
            log = studio.stop()
    scenario = "symmetric guest NAT, TURN/UDP" if symmetric else "guest network without UDP, TURN/TCP"
    _report(scenario, "aiortc guest", bot)
    assert bot["status"]["ice_pair"] == PAIR_RELAY, bot["status"]
    assert bot["own_pair"]["kind"] == PAIR_RELAY
    _check_minted(bot["servers"], secret, "Bot")
    assert any('rel="ice-server"; username="' in link and "transport=tcp" in link for link in bot["links"])
    assert secret not in log
    assert re.search(r"guest 'Bot' media via TURN relay \(studio \w+ [\d.:]+/udp, "
                     r"guest relay 198\.51\.100\.10:", log), log
    # Each TURN URL was tried when the server started, and said to work.
    for transport in ("udp", "tcp"):
        assert re.search(rf"TURN turn:{re.escape(TURN_IP)}:3478\?transport={transport}"
                         rf"( \(the studio uses this one\))?: works \(relay {re.escape(TURN_IP)}:\d+",
                         log), log
    # coturn, set up by install/turn.sh, refused to relay to the homes' private addresses.
    coturn_log = "".join(p.read_text() for p in tmp_path.glob("coturn*.log"))
    assert re.search(r"peer IP 10\.7[12]\.0\.2 denied", coturn_log), coturn_log[-2000:]
    _check_recorded(studio, "Bot")
    if web is not None:
        _report(scenario, "Chromium page", web)
        assert web["status"]["ice_pair"] == PAIR_RELAY, web["status"]
        _check_minted(web["state"]["iceServers"], secret, "Page")
        assert secret not in web["page_text"] and secret not in json.dumps(web["state"])
        _check_recorded(studio, "Page")


def test_turn_check_says_what_is_wrong(tmp_path: Path) -> None:
    """The check the studio runs on each TURN URL when its server starts: a URL where
    nothing answers and a wrong secret are reported in plain words, and when the studio's
    own (the first) fails while another works, it says which to put first."""
    from guestrec.webrtc.turn_check import check_turn_servers, report_lines

    with NatRig.build() as rig:
        ice_json, secret = rig.start_coturn(tmp_path)
        servers = json.loads(ice_json)
        dead = f"turn:{TURN_IP}:3479?transport=tcp"  # nothing listens there
        servers.insert(1, {"urls": [dead]})
        text = json.dumps(servers)

        async def check(turn_secret: str):
            return report_lines(await check_turn_servers(IceSettings.from_text(text, turn_secret)))

        right = rig.run_in("studio", lambda: check(secret), 60)
        wrong = rig.run_in("studio", lambda: check("not-" + secret), 60)
    print("\n".join(f"{level}: {line}" for level, line in right + wrong))
    assert right[0] == ("error", (f"TURN {dead} (the studio uses this one): cannot reach it: "
                                  "connection refused (nothing listens on that port)")), right
    assert right[1][0] == "info" and " works (relay " in right[1][1]
    assert right[-1] == ("warning", ("the studio can use only one TURN address: put "
                                     f"turn:{TURN_IP}:3478?transport=udp first in the ICE servers setting"))
    refused = [line for level, line in wrong if "refused: 401" in line]
    assert len(refused) == 2 and all("check its username and credential, or the TURN secret" in line
                                     for line in refused), wrong


@needs_chromium
def test_no_ice_servers_guest_told_within_10_s(tmp_path: Path) -> None:
    """No ICE servers, both homes behind NATs: the page says so within about 10 s, and the
    studio's log names the candidate types both sides offered and the setting to look at."""
    with NatRig.build() as rig:
        studio = Studio(rig, tmp_path, "[]")
        try:
            web = rig.run_in(
                "guest", lambda: browser_guest(studio, tmp_path / "chrome", "Zed", wait_connected=False))
            # The page's DELETE reaches the studio (bounded: 10 s, past the fixed 1 s this was).
            deadline = time.monotonic() + 10
            while not any("guest 'Zed' leaves" in line for line in list(studio.serve.output)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            log = studio.stop()
    print(f"\nRIG no ICE servers | Chromium page: told after {web['failed_after_s']:.1f} s")
    assert web["failed_after_s"] <= 11, web["failed_after_s"]
    assert "could not reach the studio" in web["error_text"]
    assert web["state"]["iceServers"] == []
    assert re.search(r"guest 'Zed' leaves: hung up: the media connection never came up; the guest offered "
                     r"host[^;:]* candidates, the studio host: check the ICE servers setting", log), log
    assert not studio.files("Zed")
