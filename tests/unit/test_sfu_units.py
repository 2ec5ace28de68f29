"""Small pieces of the SFU ingest: shards, the --sfu value, subscriber receive buffers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from guestrec.ingest.sfu import SfuSettingError, parse_room, parse_sfu
from guestrec.ingest.sfu.receive_buffers import enlarge_receive_buffers
from guestrec.ingest.sfu.shard import Shard, ShardError, shard_of
from guestrec.ingest.sfu.videoroom import Publisher


def test_shards_split_guests_stably_and_completely() -> None:
    guests = [Publisher(feed, f"Guest {feed}") for feed in range(1, 61)]
    for count in (1, 2, 3, 5):
        shards = [Shard(i, count) for i in range(1, count + 1)]
        takers = [[s.index for s in shards if s.takes(g)] for g in guests]
        assert all(len(t) == 1 for t in takers)  # every guest in exactly one share
        sizes = [sum(1 for t in takers if t == [s.index]) for s in shards]
        assert min(sizes) >= 60 // count // 3, sizes  # no share left (nearly) empty
    # The name decides, not the feed id Janus hands out at every join, nor its case.
    assert shard_of(Publisher(1, "Alice"), 7) == shard_of(Publisher(999, " alice "), 7)
    assert shard_of(Publisher(5, ""), 7) == shard_of(Publisher(5, ""), 7)


def test_bad_shard_and_sfu_values_are_refused_clearly() -> None:
    assert Shard.parse("2/3") == Shard(2, 3)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ShardError):
            Shard.parse(bad)
    assert parse_sfu("janus:http://h:8088/janus/") == "http://h:8088/janus"
    for bad in ("http://h:8088/janus", "janus:ws://h:8188", "mediasoup:http://h"):
        with pytest.raises(SfuSettingError):
            parse_sfu(bad)
    assert parse_room("1234") == 1234
    for bad in ("x", "0", None):
        with pytest.raises(SfuSettingError):
            parse_room(bad)


def test_subscriber_sockets_get_large_receive_buffers() -> None:
    cap = int(Path("/proc/sys/net/core/rmem_max").read_text())

    async def run() -> int:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())  # binds the ICE sockets
            return enlarge_receive_buffers(pc, 2 * 1024 * 1024)
        finally:
            await pc.close()

    granted = asyncio.run(run())
    assert granted == min(2 * 1024 * 1024, cap), (granted, cap)  # the kernel's cap is the limit


def test_sfu_follower_keeps_aioices_consent_pace() -> None:
    """The studio's quick consent check (1 s, 4 misses) is for WHIP guests; a process that
    follows a Janus room goes back to aioice's pace (Janus reports who leaves)."""
    from aioice import ice

    from guestrec.common.plan import make_plan
    from guestrec.core import GuestConfig, GuestRoster
    from guestrec.ingest.sfu.follower import RoomFollower

    async def run() -> tuple[float, int, float, int]:
        roster = GuestRoster(lambda: GuestConfig(plan=make_plan(None), out_dir=Path("/nonexistent")))
        quick = (ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES)
        RoomFollower(roster)
        return (*quick, ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES)

    before = (ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES)
    try:
        quick_interval, quick_misses, interval, misses = asyncio.run(run())
    finally:  # the process's other tests keep the pace they had
        ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES = before
    assert (quick_interval, quick_misses) == (1.0, 4)
    assert (interval, misses) == (5.0, 6)
