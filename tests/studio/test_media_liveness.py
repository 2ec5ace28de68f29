"""ICE consent with media counting as liveness (webrtc/media_liveness.py), between two real
aiortc peers on 127.0.0.1 at the studio's quick pace (1 s checks, 4 misses).

A guest that stops answering consent checks but keeps sending (what FFmpeg's WHIP muxer
does) stays connected; a guest that vanishes (no answers, no media) is dropped within the
few seconds the quick pace promises.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import ice

from guestrec.core.liveness import CONSENT_MISSES, quicken_consent_checks
from guestrec.webrtc.media_liveness import datagrams_heard
from support.peer_pair import PeerPair
from support.whip_client import ToneTrack


@pytest.fixture
def quick_consent():
    before = (ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES)
    assert quicken_consent_checks()
    yield
    ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES = before  # the process's other tests keep theirs


def ice_connection(pc) -> ice.Connection:
    return pc.getTransceivers()[0].receiver.transport.transport._connection


async def closed_within(pc, seconds: float) -> float | None:
    """Seconds until `pc` is no longer connected, None if it still is after `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if pc.connectionState != "connected":
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    return None


def test_a_guest_that_ignores_consent_checks_but_sends_stays(quick_consent) -> None:
    async def scenario() -> tuple[float | None, int, int]:
        async with PeerPair([ToneTrack()]) as pair:
            await pair.connected()
            studio, guest = ice_connection(pair.receiver), ice_connection(pair.sender)
            guest.request_received = lambda *args, **kwargs: None  # no answers from now on
            heard = datagrams_heard(studio)
            # Twice what 4 unanswered checks at ~1 s take to drop a connection.
            closed = await closed_within(pair.receiver, 2 * CONSENT_MISSES + 1)
            return closed, heard, datagrams_heard(studio)

    closed, heard_before, heard_after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert closed is None, f"dropped after {closed:.1f} s although its audio kept coming"
    assert heard_after - heard_before > 300  # ~50 audio packets a second for ~9 s


def test_a_vanished_guest_is_dropped_within_seconds(quick_consent) -> None:
    async def scenario() -> float | None:
        async with PeerPair([ToneTrack()]) as pair:
            await pair.connected()
            await asyncio.sleep(1.5)
            guest = ice_connection(pair.sender)
            guest.request_received = lambda *args, **kwargs: None
            for protocol in list(guest._protocols):  # its sockets gone: nothing more arrives
                protocol.transport.close()
            return await closed_within(pair.receiver, 15)

    closed = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert closed is not None, "a guest that neither answers nor sends was kept for 15 s"
    print(f"vanished guest dropped after {closed:.1f} s")
    assert 2.5 < closed < 8.0, closed
