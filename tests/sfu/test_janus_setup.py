"""install/janus.sh's configuration, checked against Debian's Janus running it: only the
VideoRoom and AudioBridge plugins and the HTTP/WebSocket APIs, the API secret enforced,
rooms and RTP forwarders locked behind the room secret (in both plugins), media ports in
the range, bad input refused."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from guestrec.ingest.sfu.audiobridge import PLUGIN as BRIDGE_PLUGIN
from guestrec.ingest.sfu.audiobridge import check_bridge
from guestrec.ingest.sfu.janus_client import JanusError, JanusSession
from guestrec.ingest.sfu.videoroom import PLUGIN
from support.janus_guest import JanusGuest
from support.janus_rig import ROOT, JanusRig, skip_without_janus

SCRIPT = ROOT / "install" / "janus.sh"


@pytest.fixture
def rig(tmp_path: Path):
    skip_without_janus()
    with JanusRig(tmp_path) as janus:
        yield janus


def test_janus_runs_our_configuration_only(rig: JanusRig) -> None:
    with urllib.request.urlopen(rig.url + "/info", timeout=5) as reply:
        info = json.load(reply)
    assert sorted(info["plugins"]) == sorted([PLUGIN, BRIDGE_PLUGIN])
    assert sorted(info["transports"]) == ["janus.transport.http", "janus.transport.websockets"]
    assert info["api_secret"] is True and info["events"] == {}

    async def probe() -> tuple[str, str, str, str, list[int]]:
        with pytest.raises(JanusError) as no_secret:
            await JanusSession(rig.url, None).open()
        session = JanusSession(rig.url, rig.api_secret)
        await session.open()
        guest = JanusGuest(rig, "Ports")
        try:
            handle = await session.attach(PLUGIN)
            with pytest.raises(JanusError) as create:
                await handle.request({"request": "create", "room": 777, "admin_key": "wrong"})
            # The room secret is the admin key: with it a room can be made (and removed).
            await handle.request({"request": "create", "room": 777, "admin_key": rig.room_secret})
            await handle.request({"request": "destroy", "room": 777, "secret": ""})
            # The AudioBridge room of the same number is there; making others needs the key.
            await check_bridge(session, rig.room)
            bridge = await session.attach(BRIDGE_PLUGIN)
            with pytest.raises(JanusError) as bridge_create:
                await bridge.request({"request": "create", "room": 778, "admin_key": "wrong"})
            await guest.publish()
            with pytest.raises(JanusError) as forward:
                await handle.request({"request": "rtp_forward", "room": rig.room, "publisher_id": guest.feed,
                                      "host": "10.0.0.1", "admin_key": "wrong",
                                      "streams": [{"mid": "0", "port": 5000}]})
            ports = [int(line.split()[5]) for line in guest.pc.remoteDescription.sdp.splitlines()
                     if line.startswith("a=candidate:")]
        finally:
            await guest.hang_up()
            await session.close()
        return str(no_secret.value), str(create.value), str(bridge_create.value), str(forward.value), ports

    no_secret, create, bridge_create, forward, ports = asyncio.run(probe())
    assert "Unauthorized" in no_secret or "403" in no_secret, no_secret
    assert "Unauthorized" in create, create  # the admin key (room secret) is needed
    assert "Unauthorized" in forward, forward
    assert "Unauthorized" in bridge_create, bridge_create
    assert ports and all(20000 <= p <= 29999 for p in ports), ports


def test_janus_sh_refuses_bad_input_and_keeps_secrets(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["bash", str(SCRIPT), "--no-install", "--no-start", "--dir", str(tmp_path), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    for args, reason in ((["--room", "abc"], "--room must be a number"),
                         (["--rtp-ports", "20000"], "--rtp-ports"),
                         (["--api-secret", 'a"b'], "may not hold quotes"),
                         (["--bogus"], "unknown option")):
        done = run(*args)
        assert done.returncode == 2 and reason in done.stderr, (args, done.stderr)
    if subprocess.run(["which", "janus"], capture_output=True).returncode != 0:
        pytest.skip("the rest needs Debian's janus installed")
    first = run("--room", "55")
    assert first.returncode == 0, first.stderr
    secret = next(line.split("SFU secret = ")[1] for line in first.stdout.splitlines()
                  if "SFU secret = " in line)
    assert f"--sfu-room 55 --sfu-secret {secret}" in first.stdout
    again = run("--room", "55")
    assert f"SFU secret = {secret}" in again.stdout  # re-running keeps the secrets
    assert (tmp_path / "janus.jcfg").stat().st_mode & 0o077 == 0  # secrets readable by root only
