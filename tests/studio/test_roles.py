"""Roles against the real guest server with real aiortc guests: the guest token (and an
invite) only lets a guest join; the operator key runs the show; a session belongs to the
credential that opened it; invites are named, one connection at a time, expire, and are
revoked at once; invite-only mode; a thousand invites cost a join nothing; and neither
the key nor an invite's credential reaches a log line of `guestrec serve`.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from support.guest_server import RunningServer, running_server
from support.serve_process import ServeProcess
from support.whip_client import WhipClient, WhipError, post_raw

TRICKLE = "a=candidate:1 1 udp 1 127.0.0.1 9 typ host"


def run(coro, timeout: float = 90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def api(base: str, method: str, path: str, key: str | None, body: dict | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, object, dict[str, str]]:
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    async with aiohttp.ClientSession() as http:
        async with http.request(method, base + path, json=body, headers=sent) as resp:
            text = await resp.text()
            try:
                value: object = json.loads(text)
            except ValueError:
                value = text
            return resp.status, value, dict(resp.headers)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def make_invite(server: RunningServer, name: str, **extra) -> dict:
    status, body, _ = await api(server.base, "POST", "/api/invites", server.operator_key,
                                {"name": name, **extra})
    assert status == 201, body
    assert isinstance(body, dict) and {"id", "link"} <= set(body), body
    return body


async def wait_gone(server: RunningServer, name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(s["name"] == name for s in server.sessions.guest_statuses()):
        assert time.monotonic() < deadline, f"{name} is still there"
        await asyncio.sleep(0.05)


def test_guest_credentials_only_join_and_the_operator_key_runs_the_show(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            async with WhipClient(server.whip_url("Alice"), server.token) as alice:
                await alice.publish()
                await alice.wait_connected()
                base = server.base
                # The guest token (header or query) may not see or do what the operator does.
                for path, method in (("/api/guests", "GET"), ("/api/invites", "GET"),
                                     ("/api/files", "GET"), ("/api/events", "GET"),
                                     ("/api/guests/Alice/hangup", "POST"), ("/api/recording", "POST")):
                    status, body, _ = await api(base, method, path, server.token, {"on": False})
                    assert status == 403, (path, status, body)
                status, _, _ = await api(base, "GET", f"/api/guests?token={server.token}", None)
                assert status == 403
                # The key in the address is not taken (addresses end up in logs).
                status, _, _ = await api(base, "GET", f"/api/guests?token={server.operator_key}", None)
                assert status == 401
                # The operator key lists the guests.
                status, body, _ = await api(base, "GET", "/api/guests", server.operator_key)
                assert status == 200 and [row["name"] for row in body] == ["Alice"], body
                assert "session_id" not in body[0]
                # Wrong or missing key: one and the same 401, whether the guest exists or not.
                answers = set()
                for key in ("wrong-key-0123456789", None):
                    for path in ("/api/guests/Alice/hangup", "/api/guests/Nobody/hangup",
                                 "/api/guests/Alice/picture", "/api/guests/Nobody/picture"):
                        method = "GET" if path.endswith("picture") else "POST"
                        status, body, headers = await api(base, method, path, key)
                        answers.add((status, json.dumps(body), headers.get("WWW-Authenticate")))
                assert len(answers) == 1 and next(iter(answers))[0] == 401, answers
                # The operator key is not a guest's: it cannot join.
                with pytest.raises(WhipError) as refused:
                    await WhipClient(server.whip_url("Op"), server.operator_key, data_channel=False).publish()
                assert refused.value.status == 401
                assert alice.pc.connectionState == "connected"
                assert [s["name"] for s in server.sessions.guest_statuses()] == ["Alice"]

    run(scenario())


def test_a_session_belongs_to_the_credential_that_opened_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            ann_invite, bob_invite = await make_invite(server, "Ann"), await make_invite(server, "Bob")
            ann_token, bob_token = token_of(ann_invite["link"]), token_of(bob_invite["link"])
            async with WhipClient(server.whip_url("Ann"), ann_token) as ann, \
                    WhipClient(server.whip_url("Bob"), bob_token) as bob:
                await ann.publish()
                await bob.publish()
                await ann.wait_connected()
                for other in (bob_token, server.token):
                    auth = {"Authorization": f"Bearer {other}"}
                    status, _, _ = await post_raw(ann.location, b"", auth, method="DELETE")
                    assert status == 404
                    status, _, _ = await post_raw(ann.location, TRICKLE, {
                        **auth, "Content-Type": "application/trickle-ice-sdpfrag"}, method="PATCH")
                    assert status == 404
                    status, _, _ = await post_raw(ann.location + f"?token={other}", b"", method="DELETE")
                    assert status == 404
                await asyncio.sleep(0.3)
                names = sorted(s["name"] for s in server.sessions.guest_statuses())
                assert names == ["Ann", "Bob"] and ann.pc.connectionState == "connected"
                # Its own credential ends it.
                status, _, _ = await post_raw(ann.location, TRICKLE, {
                    "Authorization": f"Bearer {ann_token}",
                    "Content-Type": "application/trickle-ice-sdpfrag"}, method="PATCH")
                assert status == 405
                assert await ann.delete() == 200
                await wait_gone(server, "Ann")
                assert [s["name"] for s in server.sessions.guest_statuses()] == ["Bob"]

    run(scenario())


def test_invites_name_their_guest_one_connection_at_a_time_expire_and_are_revoked(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            invite = await make_invite(server, "Ann")
            token = token_of(invite["link"])
            assert invite["link"].startswith(server.base + "/?token=") and "name=Ann" in invite["link"]
            # Whatever name the URL carries, the guest is Ann.
            async with WhipClient(server.whip_url("Mallory"), token) as ann:
                await ann.publish()
                await ann.wait_connected()
                assert ann.given_name == "Ann"
                assert [s["name"] for s in server.sessions.guest_statuses()] == ["Ann"]
                # One connection at a time: a second one is refused while the first is on...
                second = WhipClient(server.whip_url("Ann"), token, data_channel=False)
                with pytest.raises(WhipError) as busy:
                    await second.publish()
                await second.close()
                assert busy.value.status == 409 and "one connection" in busy.value.body
                # ...but the same guest coming back with its resume secret replaces it.
                back = WhipClient(server.whip_url("Ann"), token, data_channel=False,
                                  headers={"Guestrec-Resume": ann.resume_secret})
                await back.publish()
                await back.wait_connected()
                assert back.given_name == "Ann"
                await wait_until_names(server, ["Ann"])
                _, rows, _ = await api(server.base, "GET", "/api/invites", server.operator_key)
                (row,) = rows
                assert row["id"] == invite["id"] and row["in_use"] and row["guest"] == "Ann"
                assert row["joins"] == 2, row
                await api(server.base, "GET", "/api/guests", server.operator_key)
                # Revoked: the next offer is refused at once, though Ann is still on.
                status, body, _ = await api(server.base, "DELETE", f"/api/invites/{invite['id']}",
                                            server.operator_key)
                assert status == 200 and body["state"] == "revoked", body
                started = time.monotonic()
                with pytest.raises(WhipError) as revoked:
                    await WhipClient(server.whip_url("Ann"), token, data_channel=False).publish()
                assert revoked.value.status == 403 and "withdrawn" in revoked.value.body
                print(f"revoked invite refused in {1000 * (time.monotonic() - started):.0f} ms")
                assert back.pc.connectionState == "connected"
                # The operator hangs up the guest still connected through it.
                status, _, _ = await api(server.base, "POST", "/api/guests/Ann/hangup", server.operator_key)
                assert status == 200
                await wait_gone(server, "Ann")
                await back.close()
            # Unknown invites: 404 for the operator.
            status, _, _ = await api(server.base, "DELETE", "/api/invites/nope", server.operator_key)
            assert status == 404
            # Expiry.
            soon = await make_invite(server, "Cy", expires_s=1)
            await asyncio.sleep(1.2)
            with pytest.raises(WhipError) as expired:
                await WhipClient(server.whip_url("Cy"), token_of(soon["link"]), data_channel=False).publish()
            assert expired.value.status == 403 and "expired" in expired.value.body
            status, body, _ = await api(server.base, "POST", "/api/invites", server.operator_key,
                                        {"name": "Dee", "expires_s": -5})
            assert status == 400 and "expires_s" in body["error"]

    run(scenario())


async def wait_until_names(server: RunningServer, names: list[str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while sorted(s["name"] for s in server.sessions.guest_statuses()) != names:
        assert time.monotonic() < deadline, server.sessions.guest_statuses()
        await asyncio.sleep(0.05)


def test_invite_only_mode_turns_the_guest_link_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, invite_only=True) as server:
            with pytest.raises(WhipError) as refused:
                await WhipClient(server.whip_url("Eve"), server.token, data_channel=False).publish()
            assert refused.value.status == 403 and "invite links only" in refused.value.body
            status, body, _ = await post_raw(f"{server.base}/api/ice-servers?token={server.token}",
                                             None, method="GET")
            assert status == 403
            invite = await make_invite(server, "Ann")
            status, body, _ = await post_raw(
                f"{server.base}/api/ice-servers?name=x&token={token_of(invite['link'])}", None, method="GET")
            assert status == 200 and "iceServers" in body
            async with WhipClient(server.whip_url("x"), token_of(invite["link"])) as ann:
                await ann.publish()
                await ann.wait_connected()
                assert ann.given_name == "Ann"

    run(scenario())


def test_a_thousand_invites_do_not_slow_a_join(tmp_path: Path) -> None:
    async def timed_join(server: RunningServer, token: str, name: str) -> float:
        client = WhipClient(server.whip_url(name), token, data_channel=False)
        started = time.perf_counter()
        await client.publish()
        took = time.perf_counter() - started
        await client.close()
        await wait_gone(server, name)
        return took

    async def scenario() -> dict:
        async with running_server(tmp_path, record=-32) as server:
            invites = server.control.access.invites
            first = await make_invite(server, "First")
            one = await timed_join(server, token_of(first["link"]), "First")
            made = [invites.make(f"Guest {n}") for n in range(999)]
            assert len(invites.all()) == 1000
            last = made[-1]
            thousand = await timed_join(server, last.token, "Guest 998")
            started = time.perf_counter()
            for invite in made:
                assert server.control.access.identify(invite.token) is not None
            lookup_us = (time.perf_counter() - started) / len(made) * 1e6
            return {"one": one, "thousand": thousand, "lookup_us": lookup_us}

    result = run(scenario())
    print(f"join with 1 invite: {result['one'] * 1000:.0f} ms, "
          f"with 1000: {result['thousand'] * 1000:.0f} ms, credential lookup {result['lookup_us']:.1f} us")
    assert result["lookup_us"] < 100
    assert result["thousand"] < result["one"] * 2 + 0.25


def test_the_key_and_invites_never_reach_a_log_line(tmp_path: Path) -> None:
    key = "key-" + "5" * 12 + "a1b2c3d4e5f6"
    server = ServeProcess(tmp_path, "--record", "-32", f"--operator-key={key}")
    assert server.operator_key == key
    made: dict = {}

    async def scenario() -> None:
        status, invite, _ = await api(server.base, "POST", "/api/invites", key, {"name": "Ann"})
        assert status == 201
        made["token"] = token_of(invite["link"])
        # The page's way: the credential in the query string, on every request.
        async with WhipClient(server.base + "/whip/Ann", token=made["token"], token_in_query=True,
                              video=False) as guest:
            await guest.publish()
            await guest.wait_connected()
            status, rows, _ = await api(server.base, "GET", "/api/guests", key)
            assert status == 200 and rows[0]["name"] == "Ann"
            for path in ("/api/guests/Ann/mute", "/api/guests/Ann/message"):
                await api(server.base, "POST", path, key, {"mute": True, "text": "hello"})
        await api(server.base, "GET", f"/api/guests?token={key}", None)
        await api(server.base, "GET", "/api/guests", key[:-1] + "x")
        await api(server.base, "DELETE", f"/api/invites/{invite['id']}", key)
        status, _, _ = await post_raw(server.base + "/whip/Ann?token=" + made["token"], "v=0",
                                      {"Content-Type": "application/sdp"})
        assert status == 403

    try:
        run(scenario())
    finally:
        output = server.stop()
    lines = output.splitlines()
    with_key = [line for line in lines if key in line]
    print("\n".join(lines))
    assert len(with_key) == 1 and with_key[0].startswith("Control room:"), with_key
    assert with_key[0].endswith(f"/control#key={key}")
    assert any(key[:3] + "…" in line for line in lines)
    assert not [line for line in lines if made["token"] in line]
    assert "Traceback" not in output


def test_the_control_page_is_served_under_its_own_csp_without_the_key(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path) as server, aiohttp.ClientSession() as http:
            out = {}
            for path in ("/control", "/control/control.js", "/control/control_api.js",
                         "/control/control.css", "/control/nope.js", "/control/..%2Fweb_app.py"):
                async with http.get(server.base + path, allow_redirects=False) as resp:
                    out[path] = (resp.status, dict(resp.headers), await resp.text())
            async with http.get(server.base + "/control/", allow_redirects=False) as resp:
                out["/control/"] = (resp.status, dict(resp.headers), "")
            return out

    out = run(scenario())
    status, headers, body = out["/control"]
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "img-src 'self' blob:" in csp and "*" not in csp
    assert 'src="control/control.js"' in body and "key" not in body.split("<body>")[0].lower()
    for name in ("/control/control.js", "/control/control_api.js"):
        assert out[name][0] == 200 and out[name][1]["Content-Type"].startswith("text/javascript")
    assert out["/control/control.css"][1]["Content-Type"].startswith("text/css")
    assert out["/control/nope.js"][0] == 404 and out["/control/..%2Fweb_app.py"][0] in (403, 404)
    assert out["/control/"][0] == 302 and out["/control/"][1]["Location"] == "/control"


def test_serve_streams_the_control_room_and_each_guests_picture(tmp_path: Path) -> None:
    """Through `guestrec serve` (the engine): a join reaches an open event stream, and the
    guest's picture is served from its latest frame."""
    server = ServeProcess(tmp_path, "--record", "600")

    async def scenario() -> dict:
        out: dict = {}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.base}/api/events", headers=server.operator()) as events:
                assert events.status == 200

                async def guests_event(predicate) -> list:
                    name = None
                    async for raw in events.content:
                        line = raw.decode().rstrip("\n")
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: ") and name == "guests":
                            rows = json.loads(line[6:])
                            if predicate(rows):
                                return rows
                    raise AssertionError("the event stream ended")

                await asyncio.wait_for(guests_event(lambda rows: rows == []), 5)
                async with WhipClient(server.base + "/whip/Pia", server.token) as pia:
                    await pia.publish()
                    answered = time.monotonic()
                    await asyncio.wait_for(guests_event(lambda rows: [r["name"] for r in rows] == ["Pia"]), 5)
                    out["join_to_event_ms"] = 1000 * (time.monotonic() - answered)
                    rows = await asyncio.wait_for(guests_event(
                        lambda rows: rows and rows[0]["picture"] and rows[0]["state"] == "recording"), 15)
                    out["row"] = rows[0]
                    url = f"{server.base}/api/guests/Pia/picture"
                    async with http.get(url, headers=server.operator()) as r:
                        out["picture"] = (r.status, r.headers["Content-Type"], await r.read())
        return out

    try:
        out = run(scenario())
    finally:
        server.stop()
    print(f"join (201 answer) to its event: {out['join_to_event_ms']:.0f} ms")
    assert out["join_to_event_ms"] < 2000
    assert out["row"]["ice_pair"] and "ice_pair_detail" not in out["row"]
    status, kind, body = out["picture"]
    assert status == 200 and kind == "image/jpeg" and body[:3] == b"\xff\xd8\xff"
