"""The parts of the studio's roles on their own: invites (lookup by hash, expiry, revoke,
the store file), the gate's one-connection-at-a-time rule and session owners, the log
mask over many secrets, and an event stream that ends when its server stops."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from pathlib import Path

import aiohttp
import pytest

from guestrec.common.access import IN_USE, SHARED_PASS, AccessRefused
from guestrec.server.access import EXPIRED, INVITE_ONLY, REVOKED, StudioAccess
from guestrec.server.invites import MAX_EXPIRES_S, InviteError, Invites
from guestrec.server.secrecy import TokenMask
from support.guest_server import running_server
from support.wrong_secret import one_off


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_invites_are_found_by_their_credential_expire_and_are_revoked() -> None:
    clock = Clock()
    access = StudioAccess("guest-token-0123456789", "operator-key-0123456789", Invites(clock=clock))
    ann = access.invites.make("  Ann\u0000 ", expires_s=60)
    assert ann.name == "Ann" and ann.expires_at == 1060.0
    holder = access.identify(ann.token)
    assert holder is not None and holder.name == "Ann" and holder.single
    access.check_join(holder)
    assert access.identify(one_off(ann.token)) is None and access.identify("") is None
    assert access.identify("operator-key-0123456789") is None  # the key never joins
    assert access.identify("guest-token-0123456789") == SHARED_PASS
    clock.now = 1060.0
    with pytest.raises(AccessRefused) as expired:
        access.check_join(holder)
    assert (expired.value.status, expired.value.reason) == (403, EXPIRED)
    bo = access.invites.make("Bo")
    access.invites.revoke(bo.id)
    with pytest.raises(AccessRefused) as revoked:
        access.check_join(access.identify(bo.token))
    assert (revoked.value.status, revoked.value.reason) == (403, REVOKED)
    access.configure("guest-token-0123456789", "operator-key-0123456789", invite_only=True)
    with pytest.raises(AccessRefused) as closed:
        access.check_join(SHARED_PASS)
    assert closed.value.reason == INVITE_ONLY
    assert access.is_operator("operator-key-0123456789") and not access.is_operator("guest-token-0123456789")
    for bad in (0, -1, True, "60", MAX_EXPIRES_S + 1):
        with pytest.raises(InviteError):
            access.invites.make("Cy", expires_s=bad)
    with pytest.raises(InviteError):
        access.invites.make("   ")


def test_one_connection_at_a_time_and_sessions_keep_their_owner() -> None:
    access = StudioAccess("guest-token-0123456789", "operator-key-0123456789")
    ann = access.identify(access.invites.make("Ann").token)
    bo = access.identify(access.invites.make("Bo").token)
    open_sessions = {"s1"}
    with access.joining(ann):
        with pytest.raises(AccessRefused) as twice, access.joining(ann):
            pass
        assert twice.value.status == 409 and twice.value.reason == IN_USE
        with access.joining(bo):  # another invite is not held up
            pass
        access.opened("s1", ann, "Ann")
    assert access.open_session_of(ann, open_sessions.__contains__) == "s1"
    assert access.invites.get(ann.holder.split(":")[1]).joins == 1
    assert access.owns("s1", ann) and not access.owns("s1", bo) and not access.owns("s1", SHARED_PASS)
    open_sessions.clear()  # it ended on its own: the invite is free again
    assert access.open_session_of(ann, open_sessions.__contains__) is None
    access.closed("s1")
    assert not access.owns("s1", ann)
    with access.joining(SHARED_PASS), access.joining(SHARED_PASS):  # the shared link: any number
        pass


def test_invites_outlive_a_restart_in_a_file_only_the_user_reads(tmp_path: Path) -> None:
    store = tmp_path / "private" / "invites.json"
    invites = Invites(store)
    ann = invites.make("Ann", expires_s=3600)
    invites.make("Bo")
    invites.revoke(ann.id)
    invites.note_join(ann.id, "Ann")
    if os.name == "posix":
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    again = Invites(store)
    assert sorted(i.name for i in again.all()) == ["Ann", "Bo"]
    found = again.find(ann.token)
    assert found is not None and found.revoked and found.joins == 1 and found.expires_at == ann.expires_at
    store.write_text("not json")
    assert Invites(store).all() == []  # a broken file is reported, not fatal


def test_a_thousand_invites_are_looked_up_without_a_scan() -> None:
    invites = Invites()
    made = [invites.make(f"Guest {n}") for n in range(1000)]
    started = time.perf_counter()
    for invite in made:
        assert invites.find(invite.token) is invite
    per_lookup_us = (time.perf_counter() - started) / len(made) * 1e6
    print(f"{per_lookup_us:.1f} us per lookup among 1000 invites")
    assert per_lookup_us < 100


def test_the_log_mask_hides_every_secret_it_is_given_even_ones_made_later() -> None:
    secrets = ["guest-token-0123456789", "operator-key-0123456789"]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "link %s and %s", (
        "http://h/?token=guest-token-0123456789", "http://h/control#key=operator-key-0123456789"), None)
    TokenMask(lambda: secrets).filter(record)
    assert record.getMessage() == "link http://h/?token=gue… and http://h/control#key=ope…"
    secrets.append("an-invite-made-while-running")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "offer ?token=an-invite-made-while-running",
                               None, None)
    TokenMask(lambda: secrets).filter(record)
    assert record.getMessage() == "offer ?token=an-…"


def test_an_open_event_stream_ends_when_the_server_stops(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], float]:
        events: list[str] = []
        async with aiohttp.ClientSession() as http:
            stopping = None
            async with running_server(tmp_path) as server:
                response = await http.get(f"{server.base}/api/events", headers=server.operator())
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/event-stream")
                while len(events) < 4:
                    line = (await response.content.readline()).decode()
                    if line.startswith("event: "):
                        events.append(line.split(" ", 1)[1].strip())
                stopping = time.monotonic()
            took = time.monotonic() - stopping
            await asyncio.wait_for(response.content.read(), 5)  # the stream ended
            response.release()
        return events, took

    events, took = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert sorted(events) == ["files", "guests", "invites", "show"]
    assert took < 3, f"stopping the server waited {took:.1f} s for the event stream"


def test_the_stream_sends_a_part_again_only_when_it_changed(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, object]]:
        seen: list[tuple[str, object]] = []
        async with running_server(tmp_path) as server, aiohttp.ClientSession() as http:
            async with http.get(f"{server.base}/api/events", headers=server.operator()) as response:
                async def read() -> None:
                    name = None
                    async for raw in response.content:
                        line = raw.decode().rstrip("\n")
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            seen.append((name, json.loads(line[6:])))

                reader = asyncio.ensure_future(read())
                await asyncio.sleep(1.2)  # a couple of ticks: nothing changed
                server.control.make_invite("Ann", None)
                await asyncio.sleep(0.3)
                reader.cancel()
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), 30))
    names = [name for name, _ in seen]
    assert names.count("guests") == 1 and names.count("show") == 1, names
    invites = [value for name, value in seen if name == "invites"]
    assert invites[0] == [] and [row["name"] for row in invites[-1]] == ["Ann"], invites


def test_a_short_key_or_one_equal_to_the_guest_token_is_refused(tmp_path: Path) -> None:
    from guestrec.server.engine import Engine, EngineError, EngineSettings

    with pytest.raises(EngineError, match="operator key must be at least 16"):
        Engine(EngineSettings(out_dir=tmp_path, operator_key="short"))
    with pytest.raises(EngineError, match="must differ from the guest token"):
        Engine(EngineSettings(out_dir=tmp_path, token="same-secret-0123456",
                              operator_key="same-secret-0123456"))
    engine = Engine(EngineSettings(out_dir=tmp_path))
    assert len(engine.operator_key) >= 16 and engine.operator_key != engine.token
    assert engine.control_link.endswith(f"/control#key={engine.operator_key}")
    assert set(engine.secrets()) == {engine.token, engine.operator_key}
