"""The engine: an asyncio loop in its own thread, serving guests, with a small
thread-safe API for the OBS script (or the headless CLI) to drive it.

Every public method may be called from any thread; work is handed to the loop with
run_coroutine_threadsafe and waited for with a timeout, so a stuck loop never hangs OBS.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from ..common.interfaces import GuestSink
from ..conversation.settings import ReturnSettingsError
from ..webrtc.ice import IceConfigError, IceSettings
from .control_desk import ControlDesk
from .http_server import serve_app, server_tls
from .invites import InviteError
from .netaddr import link_host
from .secrecy import mask_all, mask_in, masked, private_dir
from .settings import EngineError, EngineSettings, check_roles, check_token

T = TypeVar("T")
LogFn = Callable[[str, str], None]
SinkFactory = Callable[[str], "GuestSink | None"]

logger = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        sink_factory: SinkFactory | None = None,
        log: LogFn | None = None,
    ) -> None:
        settings.plan()  # fail early, in the caller's thread, on bad record settings
        check_token(settings.token)
        check_token(settings.operator_key, "the operator key")
        self._check_ice(settings)
        self._check_returns(settings)
        if not settings.token:
            settings = replace(settings, token=secrets.token_urlsafe(16))
        if not settings.operator_key:
            settings = replace(settings, operator_key=secrets.token_urlsafe(16))
        check_roles(settings)
        self._settings = settings
        self._desk = ControlDesk(settings)  # roles, invites, pictures: the engine's whole life
        self._control: Any = None  # server.ControlRoom over the running guests
        self._sink_factory = sink_factory
        self._log_fn = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._roster: Any = None  # core.GuestRoster, made on the loop
        self._ingest: Any = None  # the ingest over that roster: WhipIngest, or SfuStudio with --sfu
        self._vdo: Any = None  # ingest.vdoninja.VdoRoom while a room is set
        self._director: Any = None  # core.Director over that roster
        self._returns: Any = None  # conversation.ReturnFeed: what guests get back
        self._scheme = "http"
        self._lock = threading.Lock()

    # ----- properties -------------------------------------------------------------

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    @property
    def token(self) -> str:
        return self._settings.token

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://{link_host(self._settings.host)}:{self._settings.port}"

    @property
    def guest_link(self) -> str:
        return f"{self.base_url}/?token={self.token}"

    @property
    def masked_guest_link(self) -> str:
        """The guest link as logs show it: the token masked."""
        return mask_in(self.guest_link, self.token)

    @property
    def operator_key(self) -> str:
        return self._settings.operator_key

    @property
    def control_link(self) -> str:
        """The control room, its key in the fragment (never sent to a server or a log)."""
        return f"{self.base_url}/control#key={self.operator_key}"

    def secrets(self) -> list[str]:
        """What no log line may show: the token, the operator key, invites' credentials."""
        return self._desk.secrets()

    def make_invite(self, name: str, expires_s: float | None = None) -> str:
        """A guest link of `name`'s own (any thread): bound to that name, one connection
        at a time, until it expires or is revoked in the control room."""
        try:
            link = self._desk.make_invite(name, expires_s, self.base_url, self._loop)
        except InviteError as exc:
            raise EngineError(str(exc)) from None
        self._log("info", f"invite for {name!r}: {mask_all(link, self.secrets())}")
        return link

    def tls_dir(self) -> Path:
        """Private keys live in the user's config folder (0700), never among recordings."""
        if self._settings.tls_dir is not None:
            return self._settings.tls_dir
        return private_dir("tls")

    def publisher_dtls_identity(self) -> tuple[Path, Path]:
        """(cert, key) of a P-256 DTLS identity to hand to FFmpeg WHIP publishers."""
        from .certificates import ensure_dtls_identity

        return ensure_dtls_identity(self.tls_dir())

    # ----- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Start the loop thread and the HTTP server. Raises EngineError if it cannot."""
        with self._lock:
            if self.running:
                return
            loop = asyncio.new_event_loop()
            ready: Future[None] = Future()
            thread = threading.Thread(
                target=self._run_loop, args=(loop, ready), name="guestrec-engine", daemon=True
            )
            self._loop, self._thread = loop, thread
            thread.start()
            try:
                ready.result(timeout=10)
            except Exception as exc:
                self._shutdown_loop(timeout=5)
                raise EngineError(str(exc)) from exc
            self._log("info", f"guest link: {self.masked_guest_link}")
            self._log("info", f"control room: {self.base_url}/control#key={masked(self.operator_key)}")
            self._log_ice(self._settings)

    def stop(self, timeout: float = 5.0) -> None:
        """Finalize every recording, close every guest, and join the loop thread."""
        with self._lock:
            self._shutdown_loop(timeout)

    def apply_settings(self, settings: EngineSettings) -> None:
        """Take new settings; the record plan applies to the next recording, server
        settings (host, port, token, TLS) restart the HTTP server."""
        settings.plan()  # raises RecordSettingsError with a clear message
        check_token(settings.token)
        check_token(settings.operator_key, "the operator key")
        ice_changed = self._check_ice(settings) != self._check_ice(self._settings)
        returns = self._check_returns(settings)
        if not settings.token:
            settings = replace(settings, token=self._settings.token)
        if not settings.operator_key:
            settings = replace(settings, operator_key=self._settings.operator_key)
        check_roles(settings)
        old = self._settings
        if settings.sfu_key() != old.sfu_key() and self.running:
            raise EngineError("SFU settings apply when the guest server is started again")
        if returns != old.returns() and self.running:
            self._call(self._configure_returns(returns), timeout=5)
        self._settings = settings
        self._desk.configure(settings)
        if settings.vdo != old.vdo and self.running:
            self._call(self._restart_vdo(), timeout=15)
        if ice_changed:
            self._log_ice(settings)
        if settings.server_key() == old.server_key() or not self.running:
            return
        try:
            self._call(self._restart_server(), timeout=15)
        except Exception as exc:
            # Keep guests able to reach us: go back to the server that worked.
            self._settings = old
            self._desk.configure(old)
            try:
                self._call(self._restart_server(), timeout=15)
            except Exception as again:
                self._log("error", f"the previous server could not be restored either: {again}")
            raise EngineError(f"new server settings not applied: {exc}") from exc

    @staticmethod
    def _check_ice(settings: EngineSettings) -> IceSettings:
        try:
            return settings.ice()
        except IceConfigError as exc:
            raise EngineError(str(exc)) from None

    @staticmethod
    def _check_returns(settings: EngineSettings) -> Any:
        try:
            returns = settings.returns()
        except ReturnSettingsError as exc:
            raise EngineError(str(exc)) from None
        if returns.studio_audio is not None and not Path(returns.studio_audio).is_file():
            raise EngineError(f"studio audio {returns.studio_audio} is not a file")
        return returns

    async def _configure_returns(self, returns: Any) -> None:
        from ..conversation.studio_feed import StudioFeedError

        if self._returns is not None:
            try:
                self._returns.configure(returns)
            except StudioFeedError as exc:
                raise EngineError(str(exc)) from None

    def _log_ice(self, settings: EngineSettings) -> None:
        """Say which ICE servers guests get, and what the studio itself cannot use; check
        each TURN server in the background and say how that went."""
        ice = settings.ice()
        self._log("info", ice.describe())
        for note in ice.for_studio().notes:
            self._log("info", note + " (guests' browsers use it)")
        if ice.has_turn and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._report_turn(ice), self._loop)

    async def _report_turn(self, ice: IceSettings) -> None:
        from ..webrtc.turn_check import check_turn_servers, report_lines

        for level, line in report_lines(await check_turn_servers(ice)):
            self._log(level, line)

    # ----- guests and recordings --------------------------------------------------

    def guests(self) -> list[dict[str, Any]]:
        if not self.running or self._roster is None:
            return []
        return self._call(self._guest_statuses(), timeout=5)

    def returning_guests(self) -> list[str]:
        """Guests whose connection dropped: their names, sources and takes wait for them."""
        if not self.running or self._roster is None:
            return []
        return self._call(self._returning_guests(), timeout=5)

    def vdo_status(self) -> dict[str, Any] | None:
        """The VDO.Ninja room's handshake state, None when no room is set."""
        if not self.running or self._vdo is None:
            return None
        return self._call(self._vdo_status(), timeout=5)

    def ingest_problem(self) -> str | None:
        """Why guests cannot come in right now (e.g. the SFU is unreachable), else None."""
        watcher = getattr(self._ingest, "watcher", None)
        return watcher.problem if watcher is not None and self.running else None

    def return_status(self) -> dict[str, Any] | None:
        """What the return feed does: who listens, who is held, what it encoded."""
        if not self.running or self._returns is None:
            return None
        return self._call(self._on_loop(self._returns.status), timeout=5)

    def hold_guest(self, guest: str, on: bool) -> None:
        """On hold a guest hears and sees nothing of the return, and nobody hears it."""
        if self._returns is None or not self.running:
            raise EngineError("the guest server is not running")
        self._call(self._on_loop(self._returns.hold, guest, on), timeout=5)

    def start_recording(self, guest: str | None = None) -> list[str]:
        return self._call(self._start_recording(guest), timeout=15)

    def stop_recording(self, guest: str | None = None) -> list[str]:
        return self._call(self._stop_recording(guest), timeout=30)

    # ----- director controls (DirectorError for a request that cannot be done) -------

    def hang_up(self, guest: str) -> bool:
        return self._call(self._dir().hang_up(guest), timeout=30)

    def ask_mute(self, guest: str, mute: bool) -> bool:
        return self._call(self._on_loop(self._dir().ask_mute, guest, mute), timeout=5)

    def message_guest(self, guest: str, text: str) -> bool:
        return self._call(self._on_loop(self._dir().message, guest, text), timeout=5)

    def set_guest_bitrate(self, guest: str, kbps: int) -> int:
        return self._call(self._on_loop(self._dir().set_video_bitrate, guest, kbps), timeout=5)

    def obs_recording_changed(self, active: bool, path: str | None = None) -> None:
        """OBS's own recording started or stopped: it belongs to the session."""
        def note() -> None:
            self._roster.obs_recording_changed(active, Path(self._settings.out_dir), path)
        self._call(self._on_loop(note), timeout=5)

    def session_folder(self) -> Path | None:
        """The open session's folder, else the last one (None before any)."""
        roster = self._roster
        if roster is None:
            return None
        return roster.session_folder()

    def _dir(self) -> Any:
        if self._director is None or not self.running:
            raise EngineError("the guest server is not running")
        return self._director

    @staticmethod
    async def _on_loop(fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    # ----- loop thread ------------------------------------------------------------

    def _run_loop(self, loop: asyncio.AbstractEventLoop, ready: Future[None]) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_async())
        except BaseException as exc:  # report any start failure to start()
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _start_async(self) -> None:
        # Imported on the loop thread: aiortc and the media stack load here.
        from ..conversation.return_feed import ReturnFeed
        from ..conversation.studio_feed import StudioFeedError
        from ..core import GuestConfig, GuestRoster
        from ..core.director import Director
        from ..ingest.whip import WhipIngest
        from ..media.limits import MediaLimits

        def config() -> GuestConfig:
            s = self._settings
            return GuestConfig(
                plan=s.plan(), out_dir=Path(s.out_dir), auto_record=s.auto_record,
                split_minutes=s.split_minutes, record_at=s.record_at, ice=s.ice(),
                media_limits=MediaLimits(max_width=s.max_video_size[0], max_height=s.max_video_size[1]),
            )

        # Through an SFU no guest can take a return from us: no feed, and no decoding for it.
        if not self._settings.sfu:
            try:
                self._returns = ReturnFeed(self._settings.returns(), recording_lag=self._recording_lag)
            except StudioFeedError as exc:
                raise EngineError(str(exc)) from None
        self._roster = GuestRoster(config, sink_factory=self._guest_sink,
                                   on_change=self._desk.changes.notify)
        if self._settings.sfu:
            self._ingest = await self._start_sfu()
        else:
            self._ingest = WhipIngest(self._roster, returns=self._returns)
        self._director = Director(self._roster)
        self._control = self._desk.room(self._roster, self._director, self._ingest,
                                        lambda: self.base_url)
        # Uploads from guests' browsers that a previous run did not finish carry on.
        self._roster.recover_uploads(Path(self._settings.out_dir))
        await self._start_server()
        await self._restart_vdo()

    def _recording_lag(self) -> float:
        """How far the furthest-behind studio recording is from live, in seconds."""
        roster = self._roster
        if roster is None:
            return 0.0
        return max((float(s.get("recording_lag_seconds") or 0.0) for s in roster.guest_statuses()),
                   default=0.0)

    def _guest_sink(self, name: str) -> GuestSink | None:
        """A guest's sink: its OBS source (if any), the return feed's input and its
        picture for the control room, all fed."""
        from ..conversation.sink_tee import SinkTee

        own = None
        if self._sink_factory is not None:
            try:
                own = self._sink_factory(name)
            except Exception:  # the guest is still heard by the others
                logger.exception("making the sink for %r failed", name)
        feed = self._returns
        return SinkTee.of(own, feed.sink_for(name) if feed is not None else None,
                          self._desk.sink_for(name))

    async def _restart_vdo(self) -> None:
        """Leave the current VDO.Ninja room (its guests finish) and join the set one."""
        if self._vdo is not None:
            old, self._vdo = self._vdo, None
            await old.close()
        vdo = self._settings.vdo
        if vdo is not None and self._roster is not None:
            from ..ingest.vdoninja import VdoRoom

            self._vdo = VdoRoom(vdo, self._roster)
            await self._vdo.start()
            self._log("info", f"joining VDO.Ninja room {self._vdo.keys.room} at {vdo.server}")

    async def _vdo_status(self) -> dict[str, Any] | None:
        return self._vdo.status() if self._vdo is not None else None

    async def _start_sfu(self) -> Any:
        from ..ingest.sfu import SfuSettingError, parse_room, parse_sfu
        from ..ingest.sfu.janus_client import JanusError
        from ..ingest.sfu.studio import SfuStudio

        s = self._settings
        try:
            studio = SfuStudio(self._roster, parse_sfu(s.sfu), s.sfu_secret or None, parse_room(s.sfu_room))
            await studio.start()
        except (SfuSettingError, JanusError) as exc:
            raise EngineError(f"SFU: {exc}") from None
        return studio

    async def _start_server(self) -> None:
        self._scheme = "http"
        ssl_context = server_tls(self._settings, self.tls_dir())
        if ssl_context is not None:
            self._scheme = "https"
        self._runner = await serve_app(
            self._settings, self._ingest, self._roster.uploads, ssl_context,
            access=self._desk.access, control=self._control)

    async def _restart_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._start_server()
        self._log("info", f"server restarted; guest link: {self.masked_guest_link}")

    async def _stop_async(self) -> None:
        try:
            if self._vdo is not None:
                try:
                    await self._vdo.close()
                except Exception as exc:  # noqa: BLE001 - the guests must still be finished
                    self._log("error", f"leaving the VDO.Ninja room failed: {exc!r}")
            if self._ingest is not None and hasattr(self._ingest, "stop"):
                await self._ingest.stop()  # the SFU's subscriptions and relays
            if self._roster is not None:
                await self._roster.close_all()
            if self._returns is not None:
                await self._returns.close()
        finally:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None

    async def _guest_statuses(self) -> list[dict[str, Any]]:
        return self._roster.guest_statuses()

    async def _returning_guests(self) -> list[str]:
        return self._roster.awaiting_return()

    async def _start_recording(self, guest: str | None) -> list[str]:
        if self._roster is None:
            return []
        return await self._roster.start_recording(guest)

    async def _stop_recording(self, guest: str | None) -> list[str]:
        if self._roster is None:
            return []
        return await self._roster.stop_recording(guest)

    def _shutdown_loop(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive() and loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._stop_async(), loop)
            try:
                fut.result(timeout=max(0.5, timeout - 1))
            except Exception as exc:  # still stop the loop: a hung close must not hang OBS
                self._log("error", f"closing guests did not finish cleanly: {exc!r}")
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=max(0.5, timeout))
        if thread.is_alive():
            self._log("error", "engine thread did not stop in time")
        self._loop = self._thread = None
        self._roster = self._ingest = self._director = self._vdo = self._returns = None
        self._control = None

    def _call(self, coro: Awaitable[T], timeout: float) -> T:
        loop = self._loop
        if loop is None or not self.running:
            coro.close()  # type: ignore[attr-defined]
            raise EngineError("the guest server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)  # type: ignore[arg-type]

    def _log(self, level: str, message: str) -> None:
        if self._log_fn is not None:
            try:
                self._log_fn(level, message)
                return
            except Exception:
                pass
        getattr(logger, level if level in ("info", "warning", "error", "debug") else "info")(message)
