"""Screen shares at the studio, with aiortc publishers standing in for the guest page: an
offer with `Guestrec-Screen-Of: <the guest's session id>` becomes "<name> (screen)", linked
to its guest, answered receive-only (nothing goes back), named around collisions, listed
in session.json with its guest; it ends with its guest, is never awaited back, and is
refused with a reason the page shows when it cannot be taken. Its sound reaches the other
guests' return but not the guest who shares it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from guestrec.common.plan import make_plan
from guestrec.core.screen_shares import NO_OWNER, SOUND_ONLY
from guestrec.server.engine import Engine, EngineSettings
from obs_launcher.obs_config import free_port
from support.guest_server import RunningServer, running_server
from support.return_guest import ReturnGuest
from support.synthetic import SolidVideoTrack, ToneAudioTrack
from support.tones import tone_levels
from support.whip_client import WhipClient, WhipError

SCREEN = "Guestrec-Screen-Of"


def run(coro, timeout: float = 90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def session_of(guest: WhipClient) -> str:
    assert guest.location is not None
    return guest.location.rsplit("/", 1)[1]


def screen_of(server: RunningServer, owner: WhipClient, token: str | None = None) -> WhipClient:
    return WhipClient(server.whip_url("anything"), token or server.token, audio=True, video=True,
                      headers={SCREEN: session_of(owner)})


def names(server: RunningServer) -> dict[str, dict]:
    return {s["name"]: s for s in server.sessions.guest_statuses()}


async def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        await asyncio.sleep(0.05)


async def refused(client: WhipClient) -> WhipError:
    try:
        with pytest.raises(WhipError) as caught:
            await client.publish()
    finally:
        await client.close()
    return caught.value


def test_screen_is_a_linked_guest_that_ends_with_its_guest(tmp_path: Path) -> None:
    async def scenario() -> dict:
        seen: dict = {}
        async with running_server(tmp_path, record=1000) as server:
            nobody = WhipClient(server.whip_url("Ann"), server.token, headers={SCREEN: "no-such-session"})
            seen["no_owner"] = await refused(nobody)
            async with WhipClient(server.whip_url("Ann (screen)"), server.token) as squatter:
                await squatter.publish()
                ann = WhipClient(server.whip_url("Ann"), server.token)
                await ann.publish()
                await ann.wait_connected()
                screen = screen_of(server, ann)
                await screen.publish()
                await screen.wait_connected()
                seen["given"] = screen.given_name
                seen["answer"] = screen.answer_sdp
                await until(lambda: names(server).get(seen["given"], {}).get("recording"), 15,
                            "its recording")
                await asyncio.sleep(3.0)
                seen["status"] = names(server)[seen["given"]]
                seen["ann_status"] = names(server)["Ann"]
                # Ann hangs up: her screen ends with her, though its own connection is fine.
                await ann.close()
                await until(lambda: seen["given"] not in names(server), 10, "the screen's end")
                seen["awaited"] = server.sessions.awaiting_return()
                seen["screen_state"] = screen.pc.connectionState
                seen["late_delete"] = await screen.delete()
                await screen.close()
                seen["folder"] = server.sessions.session_folder()
        return seen

    seen = run(scenario())
    assert seen["no_owner"].status == 409 and NO_OWNER in seen["no_owner"].body
    assert seen["given"] == "Ann (screen) 2"  # "Ann (screen)" was taken by another guest
    # Nothing goes back on a screen share: every media section of the answer only receives.
    directions = [line for line in seen["answer"].splitlines()
                  if line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")]
    assert directions and set(directions) == {"a=recvonly"}, directions
    assert seen["status"]["screen_of"] == "Ann" and seen["status"]["record_at"] == "studio"
    assert seen["ann_status"]["screen_of"] is None
    assert seen["awaited"] == []
    assert seen["late_delete"] in (200, 404)
    manifest = json.loads((Path(seen["folder"]) / "session.json").read_text())
    by_guest = {f["guest"]: f for f in manifest["files"]}
    assert by_guest["Ann (screen) 2"]["screen_of"] == "Ann"
    assert by_guest["Ann (screen) 2"]["status"] == "complete"
    assert "screen_of" not in by_guest["Ann"] and "screen_of" not in by_guest["Ann (screen)"]


async def make_invite(server: RunningServer, name: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(server.base + "/api/invites", json={"name": name},
                             headers=server.operator()) as resp:
            assert resp.status == 201, await resp.text()
            link = (await resp.json())["link"]
    return parse_qs(urlsplit(link).query)["token"][0]


def test_screen_beside_an_invite_lost_screens_and_refusals(tmp_path: Path) -> None:
    async def scenario() -> dict:
        seen: dict = {}
        async with running_server(tmp_path, record=1000) as server:
            ann_token, bob_token = await make_invite(server, "Ann"), await make_invite(server, "Bob")
            ann = WhipClient(server.whip_url("Ann"), ann_token)
            await ann.publish()
            await ann.wait_connected()
            # Another guest's credential cannot share Ann's screen.
            seen["foreign"] = await refused(screen_of(server, ann, bob_token))
            # Ann's invite lets one connection in; her screen goes beside it, not instead.
            screen = screen_of(server, ann, ann_token)
            await screen.publish()
            await screen.wait_connected()
            seen["beside"] = screen.given_name
            # A new share (a page that lost track of its old one) replaces the one before.
            replacement = screen_of(server, ann, ann_token)
            await replacement.publish()
            await replacement.wait_connected()
            seen["replacement"] = replacement.given_name
            seen["screens_after_replacement"] = [n for n in names(server) if "(screen)" in n]
            seen["old_share_delete"] = await screen.delete()
            await screen.close()
            screen = replacement
            seen["second_camera"] = await refused(WhipClient(server.whip_url("Ann"), ann_token))
            # A screen whose connection is lost ends: it is not awaited back.
            await screen.pc.close()
            await until(lambda: "Ann (screen)" not in names(server), 15, "the lost screen's end")
            seen["awaited_after_loss"] = server.sessions.awaiting_return()
            await screen.close()

            # Ann's connection drops: her screen goes on while her name waits for her...
            again = screen_of(server, ann, ann_token)
            await again.publish()
            await again.wait_connected()
            await ann.pc.close()
            await until(lambda: "Ann" in server.sessions.awaiting_return(), 15, "Ann awaited back")
            await asyncio.sleep(1.0)
            seen["screen_while_awaited"] = names(server).get("Ann (screen)")
            # ...and ends when the studio ends that wait.
            await server.sessions.hang_up("Ann")
            await until(lambda: "Ann (screen)" not in names(server), 10, "the screen's end with Ann's")
            await again.close()
            await ann.close()

            # Sound-only recording takes no screen share.
            server.config.plan = make_plan(-64)
            cam = WhipClient(server.whip_url("Cy"), server.token)
            await cam.publish()
            await cam.wait_connected()
            seen["sound_only"] = await refused(screen_of(server, cam))
            await cam.close()
        return seen

    seen = run(scenario())
    assert seen["foreign"].status == 409 and NO_OWNER in seen["foreign"].body
    assert seen["beside"] == "Ann (screen)"
    assert seen["replacement"] == "Ann (screen)" and seen["screens_after_replacement"] == ["Ann (screen)"]
    assert seen["old_share_delete"] == 404  # already ended by the new share
    assert seen["second_camera"].status == 409 and "one connection" in seen["second_camera"].body
    assert seen["awaited_after_loss"] == []
    status = seen["screen_while_awaited"]
    assert status is not None and status["connected"] and status["screen_of"] == "Ann"
    assert seen["sound_only"].status == 409 and SOUND_ONLY in seen["sound_only"].body


async def sharing_with_sound(engine: Engine) -> dict:
    def guest(name: str, hz: float, direction: str = "sendrecv", **extra) -> ReturnGuest:
        tracks = [ToneAudioTrack(frequency=hz), SolidVideoTrack(160, 120, fps=10)]
        return ReturnGuest(f"{engine.base_url}/whip/{name}", engine.token, tracks, direction=direction,
                           **extra)

    anna, ben = guest("Anna", 300.0), guest("Ben", 700.0)
    everyone = [anna, ben]
    try:
        for talker in everyone:
            await talker.publish()
            await talker.wait_connected(15)
        screen = guest("x", 1500.0, direction="sendonly", headers={SCREEN: session_of(anna)})
        everyone.append(screen)
        await screen.publish()
        await screen.wait_connected(15)
        await asyncio.sleep(2.0)
        window = (time.time(), time.time() + 3.0)
        await asyncio.sleep(3.0)
        return {"anna": anna.audio_between(*window), "ben": ben.audio_between(*window),
                "screen_name": screen.given_name}
    finally:
        for talker in everyone:
            await talker.close()


def test_the_shared_sound_reaches_the_others_but_not_the_sharer(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(out_dir=tmp_path, port=free_port(), record="500", ice_servers="[]"))
    engine.start()
    try:
        got = asyncio.run(asyncio.wait_for(sharing_with_sound(engine), 60))
    finally:
        engine.stop(timeout=20)
    tones = [300.0, 700.0, 1500.0]
    anna, ben = tone_levels(got["anna"], tones), tone_levels(got["ben"], tones)
    print(f"Anna hears {anna}; Ben hears {ben}")
    assert got["screen_name"] == "Anna (screen)"
    assert anna[700.0] > -35 and anna[1500.0] < anna[700.0] - 40, anna  # not her own screen
    assert anna[300.0] < anna[700.0] - 40, anna  # nor herself
    assert ben[300.0] > -35 and ben[1500.0] > -35, ben  # Ben hears Anna and her screen
