"""Run the real guest server (GuestRoster + WhipIngest + build_app) on 127.0.0.1 (or `host`)
for a test.

    async with running_server(tmp_path, record="2000") as server:
        server.base      # "http://127.0.0.1:PORT"
        server.token
        server.sessions  # the GuestRoster (the guest core)
        server.config    # the GuestConfig returned for new guests (mutable)

On exit every session is closed (recordings finalized) and the server stopped.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from guestrec.common.plan import make_plan
from guestrec.core import GuestConfig, GuestRoster
from guestrec.ingest.whip import WhipIngest
from guestrec.server.web_app import build_app


@dataclass
class RunningServer:
    base: str
    token: str
    sessions: GuestRoster
    config: GuestConfig

    def whip_url(self, guest: str) -> str:
        from urllib.parse import quote

        return f"{self.base}/whip/{quote(guest, safe='')}"


@contextlib.asynccontextmanager
async def running_server(
    out_dir: Path,
    record: str | int | None = None,
    *,
    pcm: bool = False,
    codec: str = "vp8",
    auto_record: bool = True,
    sink_factory=None,
    record_at: str | None = "studio",
    host: str = "127.0.0.1",
) -> AsyncIterator[RunningServer]:
    config = GuestConfig(
        plan=make_plan(record, pcm=pcm, codec=codec), out_dir=Path(out_dir), auto_record=auto_record,
        record_at=record_at,
    )
    sessions = GuestRoster(lambda: config, sink_factory=sink_factory)
    token = secrets.token_urlsafe(16)
    runner = web.AppRunner(build_app(WhipIngest(sessions), token, uploads=sessions.uploads), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningServer(f"http://{host}:{port}", token, sessions, config)
    finally:
        await sessions.close_all()
        await runner.cleanup()
