"""`guestrec sfu-record`: a recorder machine that records its share of a VideoRoom room.

No HTTP server and no OBS: a guest roster without sinks, a room watcher and a follower
that subscribes to the publishers of this shard. Files and sidecars are the studio's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from ...common.plan import RecordPlan
from ...core import GuestConfig, GuestRoster
from .follower import RoomFollower
from .shard import Shard
from .watcher import RoomWatcher

log = logging.getLogger(__name__)


@dataclass
class RecorderSettings:
    url: str  # Janus's HTTP API, e.g. http://host:8088/janus
    room: int
    api_secret: str | None
    shard: Shard
    plan: RecordPlan
    out_dir: Path
    split_minutes: float | None = None
    max_guests: int = 64  # a recorder has no OBS to fill: it takes more than a studio


class ShardRecorder:
    def __init__(self, settings: RecorderSettings) -> None:
        self.settings = settings
        self.roster = GuestRoster(lambda: GuestConfig(
            plan=settings.plan, out_dir=settings.out_dir, auto_record=True,
            split_minutes=settings.split_minutes), max_guests=settings.max_guests)
        self.follower = RoomFollower(self.roster, select=settings.shard.takes)
        self.watcher = RoomWatcher(settings.url, settings.api_secret, settings.room, self.follower)
        self.follower.watcher = self.watcher

    async def start(self) -> None:
        """Raises JanusError when Janus, the secret or the room is wrong."""
        self.settings.out_dir.mkdir(parents=True, exist_ok=True)
        await self.watcher.start()

    async def stop(self) -> None:
        try:
            await self.follower.stop()
            await self.roster.close_all()
        finally:
            await self.watcher.stop()

    async def run_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
