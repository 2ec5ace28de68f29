"""A guest whose offer names its host candidates only by mDNS (.local names, as browsers do
until a page may use the camera): names this studio cannot resolve must not cost the
answer its own candidates, the guest must still get through (the studio learns its
address from its checks), and a guest that does not is told the real cause."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import aioice.ice
from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from guestrec.webrtc import sdp
from guestrec.webrtc.ice_status import MDNS_HINT, candidate_types, ice_hint
from support.guest_server import running_server
from support.whip_client import post_raw

_HOST = re.compile(r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host.*)$", re.M)


class Unresolvable:
    """aioice's mDNS resolver as it is away from the guest's network: nothing answers (and
    no query leaves this machine)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, name: str) -> None:
        self.asked.append(name)


def with_mdns_names(offer: str) -> str:
    """The offer with every host candidate's address replaced by a .local name."""
    numbers = itertools.count()
    name = "a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b.local"
    return _HOST.sub(lambda m: f"{m[1]}{next(numbers):04x}{name}{m[3]}", offer)


async def mdns_offer(pc: RTCPeerConnection) -> str:
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = with_mdns_names(pc.localDescription.sdp)
    assert candidate_types(offer) == ["mdns"] and "a=end-of-candidates" in offer
    return offer


def test_only_mdns_candidates_still_get_the_studios_and_connect(tmp_path: Path, monkeypatch) -> None:
    resolver = Unresolvable()

    async def fake_protocol(subscriber: object) -> Unresolvable:
        return resolver

    monkeypatch.setattr(aioice.ice, "get_or_create_mdns_protocol", fake_protocol)

    async def scenario() -> tuple[str, str, dict, str]:
        async with running_server(tmp_path / "rec") as server:
            guest = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            try:
                offer = await mdns_offer(guest)
                status, answer, _ = await post_raw(server.whip_url("Lan"), offer, {
                    "Authorization": f"Bearer {server.token}", "Content-Type": "application/sdp"})
                assert status == 201, answer
                await guest.setRemoteDescription(RTCSessionDescription(answer, "answer"))
                for _ in range(150):
                    studio_side = server.sessions.guest_statuses()[0]["connected"]
                    if guest.connectionState == "connected" and studio_side:
                        break
                    await asyncio.sleep(0.1)
                return offer, answer, server.sessions.guest_statuses()[0], guest.connectionState
            finally:
                await guest.close()

    offer, answer, status, state = asyncio.run(asyncio.wait_for(scenario(), 60))
    # It tried every name (on the guest's network they resolve).
    assert sorted(resolver.asked) == sorted(m[2] for m in _HOST.finditer(offer)) != []
    assert candidate_types(answer) == ["host"]  # the studio's own candidates are in the answer
    assert status["ice_offered"] == {"guest": ["mdns"], "studio": ["host"]}
    # The guest's checks reached the studio, which learned its address from them.
    assert state == "connected" and status["connected"], (state, status)
    assert status["ice_pair_detail"].split(", guest ")[1].startswith("prflx "), status["ice_pair_detail"]


def test_a_guest_that_never_gets_through_is_told_about_mdns(tmp_path: Path, monkeypatch, caplog) -> None:
    async def fake_protocol(subscriber: object) -> Unresolvable:
        return Unresolvable()

    monkeypatch.setattr(aioice.ice, "get_or_create_mdns_protocol", fake_protocol)

    async def scenario() -> str:
        async with running_server(tmp_path / "rec") as server:
            guest = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            try:
                offer = await mdns_offer(guest)
                status, answer, _ = await post_raw(server.whip_url("Far"), offer, {
                    "Authorization": f"Bearer {server.token}", "Content-Type": "application/sdp"})
                assert status == 201, answer
                return answer  # never applied: no checks ever reach the studio
            finally:
                await guest.close()

    answer = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert candidate_types(answer) == ["host"]
    leaving = [r.getMessage() for r in caplog.records if "leaves" in r.getMessage()]
    cause = "the guest offered only mDNS (.local) host candidates, which this studio cannot resolve"
    assert leaving and cause in leaving[0], leaving


def test_hints_and_end_of_candidates() -> None:
    assert ice_hint({"guest": ["mdns", "mdns/tcp"], "studio": ["host"]}) == MDNS_HINT
    assert ice_hint({"guest": ["host", "mdns"], "studio": ["host"]}).startswith("check the ICE servers")
    assert ice_hint({"guest": [], "studio": []}).startswith("check the ICE servers")
    kept = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 x.local 9 typ host\r\n"
    assert sdp.without_end_of_candidates(kept + "a=end-of-candidates\r\n") == kept
