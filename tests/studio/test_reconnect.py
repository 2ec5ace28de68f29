"""A guest whose connection drops comes back under its name, into its source and take;
the studio's own ends are told to the guest. Real aiortc guests over loopback.

The drop here is the guest's connection closing under it (DTLS close, no DELETE). The
drop of a guest's network for 10 s is in test_reconnect_rig.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from guestrec.core import continuity
from support.counting_sink import CountingSink
from support.guest_server import RunningServer, running_server
from support.media_probe import probe
from support.whip_client import WhipClient

RESUME = "Guestrec-Resume"


def run(coro, timeout: float = 90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met in time")


def names(server: RunningServer) -> list[str]:
    return [s["name"] for s in server.sessions.guest_statuses()]


async def drop(guest: WhipClient, server: RunningServer, name: str) -> None:
    """The guest's connection goes away without a goodbye; the studio holds its name."""
    await guest.pc.close()
    await wait_until(lambda: name not in names(server) and name in server.sessions.awaiting_return())


def sidecar(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


def recorded(folder: Path, name: str) -> Path:
    """A recording by file name, in whichever session folder it went."""
    (path,) = folder.rglob(name)
    return path


def test_dropped_guest_gets_its_name_source_and_take_back(tmp_path: Path) -> None:
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    async def scenario() -> dict:
        async with running_server(tmp_path, record=-48, sink_factory=sink_factory) as server:
            first = WhipClient(server.whip_url("Alice"), server.token)
            await first.publish()
            secret = first.resume_secret
            assert secret and first.given_name == "Alice"
            on1 = await first.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            await wait_until(lambda: sinks and sinks[0].counts["audio"] > 50)
            # While she is live, a wrong secret neither takes her name nor ends her.
            async with WhipClient(server.whip_url("Alice"), server.token,
                                  headers={RESUME: secret[::-1]}) as imposter:
                await imposter.publish()
                assert imposter.given_name == "Alice 2"
            assert first.pc.connectionState == "connected" and "Alice" in names(server)
            await asyncio.sleep(1.0)
            await drop(first, server, "Alice")
            (alice_sink,) = sinks
            assert alice_sink.counts["disconnected"] == 0  # the source waits for her
            # Her slot is free while her name waits: another guest is not refused.
            assert server.sessions.guest_statuses() == []

            # Someone else asking for her name, with a wrong secret or none, gets another.
            async with WhipClient(server.whip_url("alice"), server.token,
                                  headers={RESUME: "not-" + secret}) as mallory:
                await mallory.publish()
                assert mallory.given_name == "alice 2" and mallory.resume_secret != secret
            async with WhipClient(server.whip_url("Alice"), server.token) as eve:
                await eve.publish()
                assert eve.given_name == "Alice 2"
            assert server.sessions.awaiting_return() == ["Alice"]

            # Alice with her secret: her name, her source, the next part of her take.
            second = WhipClient(server.whip_url("Alice"), server.token, headers={RESUME: secret})
            await second.publish()
            assert second.given_name == "Alice" and second.resume_secret == secret
            on2 = await second.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            before = alice_sink.counts["audio"]
            await wait_until(lambda: alice_sink.counts["audio"] > before + 50)
            assert server.sessions.awaiting_return() == []
            (status,) = server.sessions.guest_statuses()
            await asyncio.sleep(1.0)
            await second.close()  # DELETE: she left for good
            await wait_until(lambda: alice_sink.counts["disconnected"] == 1)
            assert server.sessions.awaiting_return() == []
            return {"on1": on1, "on2": on2, "status": status, "sinks": [s.name for s in sinks],
                    "alice": dict(alice_sink.counts)}

    result = run(scenario())
    # One sink (OBS source) for Alice across both connections.
    assert result["sinks"] == ["Alice"]
    assert result["alice"]["connected"] == 1 and result["alice"]["disconnected"] == 1
    assert result["status"]["name"] == "Alice" and result["status"]["recording"]

    part1, part2 = recorded(tmp_path, result["on1"]["file"]), recorded(tmp_path, result["on2"]["file"])
    assert part1 != part2 and part1.name.startswith("Alice ") and part2.name.startswith("Alice ")
    assert part1.parent == part2.parent  # one take, one session folder
    take1, take2 = sidecar(part1)["take"], sidecar(part2)["take"]
    assert take1["id"] == take2["id"]
    assert (take1["part"], take2["part"]) == (1, 2)
    assert take1["previous_file"] is None and take1["next_file"] == part2.name
    assert take2["previous_file"] == part1.name and take2["next_file"] is None
    for part in (part1, part2):
        assert float(probe(part)["format"]["duration"]) > 0.8


def test_unclaimed_name_is_freed_after_the_grace_period(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(continuity, "RESUME_GRACE_S", 1.0)
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    async def scenario() -> tuple[dict, dict]:
        async with running_server(tmp_path, record=-32, sink_factory=sink_factory) as server:
            first = WhipClient(server.whip_url("Bo"), server.token, video=False)
            await first.publish()
            on1 = await first.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
            await asyncio.sleep(1.0)
            await drop(first, server, "Bo")
            await wait_until(lambda: server.sessions.awaiting_return() == [], 3)
            assert sinks[0].counts["disconnected"] == 1  # the source is blank now
            # Too late: the secret brings back only the name (free again), in a new take.
            async with WhipClient(server.whip_url("Bo"), server.token, video=False,
                                  headers={RESUME: first.resume_secret}) as late:
                await late.publish()
                assert late.given_name == "Bo" and late.resume_secret != first.resume_secret
                on2 = await late.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
                await asyncio.sleep(1.0)
            return on1, on2

    on1, on2 = run(scenario())
    assert len(sinks) == 2
    take1 = sidecar(recorded(tmp_path, on1["file"]))["take"]
    take2 = sidecar(recorded(tmp_path, on2["file"]))["take"]
    assert take1["id"] != take2["id"] and take2["part"] == 1 and take2["previous_file"] is None
    assert take1["next_file"] is None


def test_late_delete_frees_a_dropped_guests_name(tmp_path: Path) -> None:
    async def scenario() -> str | None:
        async with running_server(tmp_path, record=-32) as server:
            guest = WhipClient(server.whip_url("Cy"), server.token, video=False)
            await guest.publish()
            await guest.wait_connected()
            await drop(guest, server, "Cy")
            assert await guest.delete() == 200  # it says it left: no waiting for it
            assert server.sessions.awaiting_return() == []
            async with WhipClient(server.whip_url("Cy"), server.token, video=False) as other:
                await other.publish()
                return other.given_name

    assert run(scenario()) == "Cy"


@pytest.mark.parametrize("how", ["hang_up", "server_stops"])
def test_studio_end_is_told_to_the_guest_before_it_closes(tmp_path: Path, how: str) -> None:
    async def scenario() -> tuple[dict, str, list[str]]:
        async with running_server(tmp_path, record=-32) as server:
            guest = WhipClient(server.whip_url("Di"), server.token, video=False)
            try:
                await guest.publish()
                await guest.wait_message(lambda m: m.get("type") == "recording" and m["recording"])
                if how == "hang_up":
                    assert await server.sessions.hang_up("Di")
                    assert not await server.sessions.hang_up("nobody")
                else:
                    await server.sessions.close_all()
                ended = await guest.wait_message(lambda m: m.get("type") == "ended", 2)
                await wait_until(lambda: guest.pc.connectionState in ("closed", "failed"), 10)
                return ended, guest.pc.connectionState, server.sessions.awaiting_return()
            finally:
                await guest.pc.close()

    ended, _state, waiting = run(scenario())
    assert ended["message"] == "The studio ended the session."
    assert waiting == []  # the studio ended it: nothing waits for a return
