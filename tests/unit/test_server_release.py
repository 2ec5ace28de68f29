"""A stopped server lets go of everything its guests used.

Inside OBS a script reload stops the server and starts a new one while every imported
library stays loaded, so anything a library caches at module level outlives the server.
aiohttp caches middleware chains keyed on the application: if that kept the application,
it would keep the roster, the guests' sinks and their FFmpeg filter graphs (two worker
threads each) for every reload.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from support.guest_server import running_server
from support.whip_client import WhipClient


def test_stopped_server_keeps_no_roster_alive(tmp_path: Path) -> None:
    async def scenario() -> tuple[weakref.ref, Path]:
        async with running_server(tmp_path / "rec", record=-64) as server:
            async with WhipClient(server.whip_url("Ann"), token=server.token) as client:
                await client.publish()
                await client.wait_connected(10)
                await asyncio.sleep(1.5)  # media flows through the middleware-guarded app
                status = server.sessions.guest_statuses()[0]
            roster = weakref.ref(server.sessions)
            del server
        return roster, Path(status["file"])

    roster, path = asyncio.run(asyncio.wait_for(scenario(), 60))
    gc.collect()
    assert path.exists()
    assert roster() is None, [type(r).__name__ for r in gc.get_referrers(roster())]
