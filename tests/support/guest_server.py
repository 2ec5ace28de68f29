"""Run the real guest server (GuestRoster + WhipIngest + build_app) on 127.0.0.1 (or `host`)
for a test.

    async with running_server(tmp_path, record="2000") as server:
        server.base      # "http://127.0.0.1:PORT"
        server.token
        server.operator_key  # for the control room's API (Authorization: Bearer KEY)
        server.sessions  # the GuestRoster (the guest core)
        server.config    # the GuestConfig returned for new guests (mutable)
        server.control   # the ControlRoom (server.control.access: roles and invites)

With `pictures=True` every guest also feeds the control room's picture keeper.

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
from guestrec.conversation.sink_tee import SinkTee
from guestrec.core import GuestConfig, GuestRoster
from guestrec.core.director import Director
from guestrec.ingest.whip import WhipIngest
from guestrec.server.control_desk import ControlDesk
from guestrec.server.control_room import ControlRoom
from guestrec.server.settings import EngineSettings
from guestrec.server.web_app import build_app


@dataclass
class RunningServer:
    base: str
    token: str
    sessions: GuestRoster
    config: GuestConfig
    operator_key: str = ""
    control: ControlRoom | None = None

    def operator(self) -> dict[str, str]:
        """The operator's request headers."""
        return {"Authorization": f"Bearer {self.operator_key}"}

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
    invite_only: bool = False,
    pictures: bool = False,
) -> AsyncIterator[RunningServer]:
    config = GuestConfig(
        plan=make_plan(record, pcm=pcm, codec=codec), out_dir=Path(out_dir), auto_record=auto_record,
        record_at=record_at,
    )
    token, operator_key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    desk = ControlDesk(EngineSettings(out_dir=Path(out_dir), token=token, operator_key=operator_key,
                                      invite_only=invite_only))
    sinks = sink_factory
    if pictures:
        def sinks(name: str):
            return SinkTee.of(sink_factory(name) if sink_factory else None, desk.sink_for(name))
    sessions = GuestRoster(lambda: config, sink_factory=sinks, on_change=desk.changes.notify)
    ingest = WhipIngest(sessions)
    base: list[str] = []
    control = desk.room(sessions, Director(sessions), ingest, lambda: base[0])
    app = build_app(ingest, desk.access, uploads=sessions.uploads, control=control)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    base.append(f"http://{host}:{port}")
    try:
        yield RunningServer(base[0], token, sessions, config, operator_key, control)
    finally:
        await sessions.close_all()
        await runner.cleanup()
