"""A VDO.Ninja room's guest in a real OBS: set the room in the script's properties, and a
guest publishing with the real VDO.Ninja app appears as its own source, with its picture
and sound, and is recorded. The handshake server's certificate is trusted only through
SSL_CERT_FILE, as a user of a self-hosted server would do.

OBS (under Xvfb), the handshake server, the app and the guest's Chromium all run in one
loopback-only network namespace (tests/support/netns.py, tests/support/vdo_rig.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.netns import loopback_namespace
from support.obs_harness import RED_RGB, ObsHarness, close_to, mean_rgb, obs_available, wait_until
from support.vdo_rig import (
    RED,
    app_server,
    guest_browser,
    guest_url,
    handshake_install,
    handshake_server,
    make_tls,
    recordings,
    rig_unavailable,
)

pytestmark = [pytest.mark.obs, pytest.mark.browser]


def test_a_room_guest_becomes_an_obs_source_and_is_recorded(tmp_path: Path) -> None:
    reason = rig_unavailable() or obs_available()
    if reason:
        pytest.skip(reason)
    folder = handshake_install()  # outside the namespace: npm needs the registry

    async def scenario() -> dict:
        tls = make_tls(tmp_path / "tls")
        async with handshake_server(tls, folder) as hs, app_server() as app:
            settings = {"vdo_room": "ObsRoom", "vdo_server": f"127.0.0.1:{hs.port}", "ice_servers": "[]"}
            h = ObsHarness(tmp_path / "obs", settings, extra_env={"SSL_CERT_FILE": str(tls.ca)})
            await asyncio.to_thread(h.start)
            try:
                await asyncio.to_thread(h.wait_for_server)
                async with guest_browser(tmp_path / "alice", RED) as alice:
                    await alice.open(guest_url(app, hs.port, "ObsRoom", "AliceCam", "Alice_Smith"))

                    def checks() -> dict:
                        wait_until(lambda: "Alice Smith" in h.inputs_of_our_kind() or None, 30,
                                   what="Alice's source in OBS")
                        seen = wait_until(lambda: (lambda rgb: rgb if close_to(rgb, RED_RGB) else None)(
                            mean_rgb(h.screenshot_rgb("Alice Smith"))), 20, 0.1, "Alice's red picture")
                        peak = h.meter_peak("Alice Smith")
                        status = wait_until(lambda: (lambda s: s if s and s["recording"] else None)(
                            h.guests().get("Alice Smith")), 20, 0.1, "Alice's recording")
                        wait_until(lambda: (h.guests()["Alice Smith"]["recording_seconds"] > 3) or None,
                                   20, 0.1, "a few seconds of Alice")
                        return {"rgb": seen, "peak": peak, "status": status}

                    return await asyncio.to_thread(checks)
            finally:
                await asyncio.to_thread(h.stop)

    with loopback_namespace("vdo") as ns:
        seen = ns.run(scenario, timeout=240)

    print("OBS picture", seen["rgb"], "audio peak", seen["peak"])
    assert seen["status"]["client"] == "vdoninja"
    assert 0.05 < seen["peak"] < 0.6, seen["peak"]
    (recorded,) = recordings(tmp_path / "obs" / "guests")
    print(recorded.report())
    assert recorded.guest == "Alice Smith" and recorded.shows(RED), recorded.report()
