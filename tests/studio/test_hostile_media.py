"""Hostile guests' media: forged picture sizes never reach a decoder or a file header.

The server runs as `python -m guestrec serve` in its own process, so its memory is
measured alone; the guest is a real aiortc peer whose VP8 key frames are rewritten to
declare 16383x16383 (the largest size VP8 can state) while carrying a small picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiortc.codecs import vpx

from guestrec.media.bitstream import vp8_is_keyframe
from guestrec.media.log_bound import PER_MINUTE
from support.media_probe import probe, streams_of
from support.serve_process import ServeProcess
from support.whip_client import WhipClient

FORGED = (16383, 16383)
RSS_BUDGET_MB = 100
SEND_SECONDS = 4.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def forged_vp8_keyframes(size: tuple[int, int]) -> Iterator[list[int]]:
    """Every VP8 key frame this process sends declares `size`; yields a counter of them."""
    original = vpx.Vp8Encoder.__dict__["_packetize"]
    forged: list[int] = [0]

    def packetize(cls, buffer: bytes, picture_id: int) -> list[bytes]:
        if vp8_is_keyframe(buffer):
            forged[0] += 1
            buffer = buffer[:6] + struct.pack("<HH", *size) + buffer[10:]
        return original.__func__(cls, buffer, picture_id)

    vpx.Vp8Encoder._packetize = classmethod(packetize)
    try:
        yield forged
    finally:
        vpx.Vp8Encoder._packetize = original


async def guests_api(server: ServeProcess) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/api/guests", headers=server.operator()) as resp:
            return await resp.json()


async def forged_guest(server: ServeProcess, size: tuple[int, int] | None = FORGED) -> dict:
    before = rss_mb(server.proc.pid)
    peak = before
    forging = forged_vp8_keyframes(size) if size else contextlib.nullcontext([0])
    with forging as forged:
        async with WhipClient(f"{server.base}/whip/Mallory", token=server.token) as guest:
            await guest.publish()
            await guest.wait_connected()
            told = await guest.wait_message(lambda m: m.get("type") == "error", timeout=10)
            deadline = time.monotonic() + SEND_SECONDS
            while time.monotonic() < deadline:
                peak = max(peak, rss_mb(server.proc.pid))
                await asyncio.sleep(0.1)
            statuses = await guests_api(server)
    return {"before": before, "peak": peak, "forged": forged[0], "told": told, "statuses": statuses}


@pytest.mark.parametrize("codec", ["vp8", "copy"])
def test_forged_16383_keyframe_is_refused_before_any_decoder(tmp_path: Path, codec: str) -> None:
    server = ServeProcess(tmp_path, "--record", "1000", "--codec", codec)
    try:
        outcome = asyncio.run(forged_guest(server))
    finally:
        output = server.stop()
    grown = outcome["peak"] - outcome["before"]
    print(f"{codec}: server RSS {outcome['before']:.0f} MB before, peak {outcome['peak']:.0f} MB "
          f"(+{grown:.0f} MB) over {outcome['forged']} forged key frames")
    assert outcome["forged"] >= 1
    assert grown < RSS_BUDGET_MB, output
    # The guest was told, and the operator's status says why.
    assert "16383x16383" in outcome["told"]["message"], outcome["told"]
    (status,) = outcome["statuses"]
    assert "16383x16383" in (status["error"] or ""), status
    # The log names it a bounded number of times, not once per frame.
    assert 1 <= output.count("16383x16383") <= 3, output
    # Whatever was written never claims the forged size.
    for media in tmp_path.rglob("Mallory*.*"):
        if media.suffix == ".json":
            continue
        for stream in streams_of(probe(media), "video"):
            assert (stream["width"], stream["height"]) != FORGED
        sidecar = json.loads(media.with_suffix(".json").read_text())
        assert sidecar["status"] != "recording"


def test_video_size_limit_is_configurable(tmp_path: Path) -> None:
    """A studio that accepts at most 160x120 refuses an honest 320x240 camera, and says so."""
    server = ServeProcess(tmp_path, "--record", "1000", "--max-video-size", "160x120")
    try:
        outcome = asyncio.run(forged_guest(server, size=None))
    finally:
        server.stop()
    assert "320x240" in outcome["told"]["message"] and "160x120" in outcome["told"]["message"]
    (status,) = outcome["statuses"]
    assert "320x240" in status["error"]


@contextlib.contextmanager
def random_vp8_inter_frames() -> Iterator[list[int]]:
    """Every VP8 inter frame this process sends is replaced by random bytes."""
    original = vpx.Vp8Encoder.__dict__["_packetize"]
    garbled: list[int] = [0]

    def packetize(cls, buffer: bytes, picture_id: int) -> list[bytes]:
        if not vp8_is_keyframe(buffer):
            garbled[0] += 1
            noise = bytearray(os.urandom(max(len(buffer), 64)))
            noise[0] |= 0x01  # still an inter frame: nothing the size check looks at
            buffer = bytes(noise)
        return original.__func__(cls, buffer, picture_id)

    vpx.Vp8Encoder._packetize = classmethod(packetize)
    try:
        yield garbled
    finally:
        vpx.Vp8Encoder._packetize = original


async def garbling_guest(server: ServeProcess) -> int:
    with random_vp8_inter_frames() as garbled:
        async with WhipClient(f"{server.base}/whip/Noise", token=server.token) as guest:
            await guest.publish()
            await guest.wait_connected()
            await asyncio.sleep(SEND_SECONDS)
            assert await guests_api(server)  # still answering
    return garbled[0]


def test_random_payloads_cost_a_bounded_amount_of_log(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--record", "1000")
    try:
        garbled = asyncio.run(garbling_guest(server))
    finally:
        output = server.stop()
    lines = output.splitlines()
    decode_failures = [line for line in lines if "failed to decode" in line]
    print(f"{garbled} random frames sent; {len(decode_failures)} decode-failure lines, "
          f"{len(lines)} lines of output in all")
    assert garbled >= 20
    # At most PER_MINUTE a minute; a run that crosses a minute boundary may show two rounds.
    assert 1 <= len(decode_failures) <= 2 * PER_MINUTE, decode_failures
    assert len(lines) < 60, output
