"""The studio on the engine's loop: the guest core, the ingest that brings guests, the
VDO.Ninja room, the return feed, the director and the HTTP server, made and ended together.

Everything here runs on the loop; `Engine` is the thread-safe side that calls in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..common.interfaces import GuestSink
from .control_desk import ControlDesk
from .http_server import serve_app, server_tls
from .machine_load import LoopLoad
from .settings import EngineError, EngineSettings

logger = logging.getLogger(__package__ + ".engine")  # the engine's own story, in one log

LogFn = Callable[[str, str], None]
SinkFactory = Callable[[str], "GuestSink | None"]


class Studio:
    def __init__(
        self,
        settings: Callable[[], EngineSettings],
        desk: ControlDesk,
        sink_factory: SinkFactory | None,
        tls_dir: Callable[[], Path],
        base_url: Callable[[], str],
        log: LogFn,
    ) -> None:
        self._settings = settings
        self._desk = desk
        self._sink_factory = sink_factory
        self._tls_dir = tls_dir
        self._base_url = base_url
        self._log = log
        self.scheme = "http"
        self.roster: Any = None  # core.GuestRoster
        self.ingest: Any = None  # the ingest over that roster: WhipIngest, or SfuStudio with --sfu
        self.vdo: Any = None  # ingest.vdoninja.VdoRoom while a room is set
        self.director: Any = None  # core.Director over that roster
        self.returns: Any = None  # conversation.ReturnFeed: what guests get back
        self._control: Any = None  # server.ControlRoom over the running guests
        self._runner: web.AppRunner | None = None
        self.load = LoopLoad()  # how busy this loop is: whether another guest fits

    async def start(self) -> None:
        self.load.start()
        # Imported on the loop thread: aiortc and the media stack load here.
        from ..conversation.return_feed import ReturnFeed
        from ..conversation.studio_feed import StudioFeedError
        from ..core import GuestConfig, GuestRoster
        from ..core.director import Director
        from ..ingest.whip import WhipIngest
        from ..media.limits import MediaLimits

        def config() -> GuestConfig:
            s = self._settings()
            return GuestConfig(
                plan=s.plan(), out_dir=Path(s.out_dir), auto_record=s.auto_record,
                split_minutes=s.split_minutes, record_at=s.record_at, ice=s.ice(),
                media_limits=MediaLimits(max_width=s.max_video_size[0], max_height=s.max_video_size[1]),
            )

        settings = self._settings()
        # Through an SFU, Janus mixes the guests' voices; the feed sends the studio's sound
        # and the grid into its rooms (ingest/sfu/return_bridge.py).
        try:
            self.returns = ReturnFeed(settings.returns(), recording_lag=self._recording_lag)
        except StudioFeedError as exc:
            raise EngineError(str(exc)) from None
        self.roster = GuestRoster(config, sink_factory=self._guest_sink,
                                  on_change=self._desk.changes.notify)
        if settings.sfu:
            self.ingest = await self._start_sfu(settings)
        else:
            self.ingest = WhipIngest(self.roster, returns=self.returns)
        self.director = Director(self.roster)
        self._control = self._desk.room(self.roster, self.director, self.ingest, self._base_url,
                                        returns=self.return_controls())
        # Uploads from guests' browsers that a previous run did not finish carry on.
        self.roster.recover_uploads(Path(settings.out_dir))
        await self._start_server()
        await self.restart_vdo()

    def return_controls(self) -> Any:
        """What holds a guest (and talks back to it): the return feed, or through the SFU
        its bridge into Janus's rooms."""
        return getattr(self.ingest, "return_bridge", None) or self.returns

    async def stop(self) -> None:
        self.load.stop()
        try:
            if self.vdo is not None:
                try:
                    await self.vdo.close()
                except Exception as exc:  # noqa: BLE001 - the guests must still be finished
                    self._log("error", f"leaving the VDO.Ninja room failed: {exc!r}")
            if self.ingest is not None and hasattr(self.ingest, "stop"):
                await self.ingest.stop()  # the SFU's subscriptions and relays
            if self.roster is not None:
                await self.roster.close_all()
            if self.returns is not None:
                await self.returns.close()
        finally:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None

    async def restart_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._start_server()

    async def restart_vdo(self) -> None:
        """Leave the current VDO.Ninja room (its guests finish) and join the set one."""
        if self.vdo is not None:
            old, self.vdo = self.vdo, None
            await old.close()
        vdo = self._settings().vdo
        if vdo is not None and self.roster is not None:
            from ..ingest.vdoninja import VdoRoom

            self.vdo = VdoRoom(vdo, self.roster)
            await self.vdo.start()
            self._log("info", f"joining VDO.Ninja room {self.vdo.keys.room} at {vdo.server}")

    async def configure_returns(self, returns: Any) -> None:
        from ..conversation.studio_feed import StudioFeedError

        if self.returns is not None:
            try:
                self.returns.configure(returns)
            except StudioFeedError as exc:
                raise EngineError(str(exc)) from None

    async def _start_sfu(self, s: EngineSettings) -> Any:
        from ..ingest.sfu import SfuSettingError, parse_room, parse_sfu
        from ..ingest.sfu.janus_client import JanusError
        from ..ingest.sfu.studio import SfuStudio

        try:
            studio = SfuStudio(self.roster, parse_sfu(s.sfu), s.sfu_secret or None, parse_room(s.sfu_room),
                               returns=self.returns)
            await studio.start()
        except (SfuSettingError, JanusError) as exc:
            raise EngineError(f"SFU: {exc}") from None
        return studio

    async def _start_server(self) -> None:
        settings = self._settings()
        self.scheme = "http"
        ssl_context = server_tls(settings, self._tls_dir())
        if ssl_context is not None:
            self.scheme = "https"
        self._runner = await serve_app(
            settings, self.ingest, self.roster.uploads, ssl_context,
            access=self._desk.access, control=self._control)

    def _recording_lag(self) -> float:
        """How far the furthest-behind studio recording is from live, in seconds."""
        if self.roster is None:
            return 0.0
        return max((float(s.get("recording_lag_seconds") or 0.0) for s in self.roster.guest_statuses()),
                   default=0.0)

    def _guest_sink(self, name: str) -> GuestSink | None:
        """A guest's sink: its OBS source (if any), the return feed's input and its
        picture for the control room, all fed."""
        from ..conversation.sink_tee import SinkTee

        own = None
        if self._sink_factory is not None:
            try:
                own = self._sink_factory(name)
            except Exception:
                logger.exception("making the sink for %r failed", name)
        feed = self.returns
        return SinkTee.of(own, feed.sink_for(name) if feed is not None else None,
                          self._desk.sink_for(name))
