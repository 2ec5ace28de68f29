"""The engine: an asyncio loop in its own thread, serving guests, with a small
thread-safe API for the OBS script (or the headless CLI) to drive it.

Every public method may be called from any thread; work is handed to the loop with
run_coroutine_threadsafe and waited for with a timeout, so a stuck loop never hangs OBS.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..conversation.settings import ReturnSettingsError
from ..webrtc.ice import IceConfigError, IceSettings
from .control_desk import ControlDesk
from .invites import InviteError
from .loop_thread import LoopNotRunning, LoopThread
from .netaddr import link_host
from .secrecy import mask_all, mask_in, masked, private_dir
from .settings import EngineError, EngineSettings, check_roles, check_token
from .studio import LogFn, SinkFactory, Studio

T = TypeVar("T")

logger = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        sink_factory: SinkFactory | None = None,
        log: LogFn | None = None,
        exports: Any = None,
    ) -> None:
        """`exports`: the BackgroundExport the control room's export shares (one at a time
        with OBS's button); the engine makes its own when none is given."""
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
        self._desk = ControlDesk(settings, exports)  # roles, invites, pictures: the engine's whole life
        self._sink_factory = sink_factory
        self._log_fn = log
        self._loop_thread = LoopThread("guestrec-engine", lambda text: self._log("error", text))
        self._studio: Studio | None = None  # made on the loop when the engine starts
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
        return self._loop_thread.running

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
            link = self._desk.make_invite(name, expires_s, self.base_url, self._loop_thread.loop)
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
            self._studio = Studio(lambda: self._settings, self._desk, self._sink_factory,
                                  self.tls_dir, lambda: self.base_url, self._log)
            try:
                self._loop_thread.start(self._start_studio, timeout=10)
            except Exception as exc:
                self._studio = None
                raise EngineError(str(exc)) from exc
            self._log("info", f"guest link: {self.masked_guest_link}")
            self._log("info", f"control room: {self.base_url}/control#key={masked(self.operator_key)}")
            self._log_ice(self._settings)

    def stop(self, timeout: float = 5.0) -> None:
        """Finalize every recording, close every guest, and join the loop thread."""
        with self._lock:
            studio = self._studio
            self._loop_thread.stop(studio.stop if studio is not None else None, timeout)
            self._studio = None
        self._desk.stop_own_export()  # the control room's, when the engine made it

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
            self._call(self._live().configure_returns(returns), timeout=5)
        self._settings = settings
        self._desk.configure(settings)
        if settings.vdo != old.vdo and self.running:
            self._call(self._live().restart_vdo(), timeout=15)
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
            except Exception as again:  # noqa: BLE001 - said, and the first failure raised
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

    def _log_ice(self, settings: EngineSettings) -> None:
        """Say which ICE servers guests get, and what the studio itself cannot use; check
        each TURN server in the background and say how that went."""
        ice = settings.ice()
        self._log("info", ice.describe())
        for note in ice.for_studio().notes:
            self._log("info", note + " (guests' browsers use it)")
        if ice.has_turn and self.running:
            self._loop_thread.call_soon(self._report_turn(ice))

    async def _report_turn(self, ice: IceSettings) -> None:
        from ..webrtc.turn_check import check_turn_servers, report_lines

        for level, line in report_lines(await check_turn_servers(ice)):
            self._log(level, line)

    # ----- guests and recordings --------------------------------------------------

    def guests(self) -> list[dict[str, Any]]:
        """Every guest's status; "held" (on hold in the return feed) where guests get one."""
        studio = self._studio
        if not self.running or studio is None or studio.roster is None:
            return []
        return self._call(self._on_loop(self._statuses, studio), timeout=5)

    @staticmethod
    def _statuses(studio: Studio) -> list[dict[str, Any]]:
        rows = studio.roster.guest_statuses()
        if studio.returns is not None:
            for row in rows:
                row["held"] = studio.returns.mixer.held(row["name"])
        return rows

    def returning_guests(self) -> list[str]:
        """Guests whose connection dropped: their names, sources and takes wait for them."""
        studio = self._studio
        if not self.running or studio is None or studio.roster is None:
            return []
        return self._call(self._on_loop(studio.roster.awaiting_return), timeout=5)

    def vdo_status(self) -> dict[str, Any] | None:
        """The VDO.Ninja room's handshake state, None when no room is set."""
        studio = self._studio
        if not self.running or studio is None or studio.vdo is None:
            return None
        return self._call(self._on_loop(studio.vdo.status), timeout=5)

    def ingest_problem(self) -> str | None:
        """Why guests cannot come in right now (e.g. the SFU is unreachable), else None."""
        watcher = getattr(self._studio.ingest, "watcher", None) if self._studio is not None else None
        return watcher.problem if watcher is not None and self.running else None

    def machine_load(self, guests: int) -> dict[str, Any] | None:
        """How busy the studio's loop is with `guests` guests, and whether more fit
        (server/machine_load.py); read without waiting for the loop. None when stopped."""
        studio = self._studio
        return studio.load.report(guests) if self.running and studio is not None else None

    def return_status(self) -> dict[str, Any] | None:
        """What the return feed does: who listens, who is held, what it encoded."""
        studio = self._studio
        if not self.running or studio is None or studio.returns is None:
            return None
        status = self._call(self._on_loop(studio.returns.status), timeout=5)
        bridge = getattr(studio.ingest, "return_bridge", None)  # through the SFU: Janus's side of it
        if bridge is not None:
            status["sfu"] = self._call(self._on_loop(bridge.status), timeout=5)
        return status

    def hold_guest(self, guest: str, on: bool) -> None:
        """On hold a guest hears and sees nothing of the return, and nobody hears it."""
        returns = self._live().return_controls()
        if returns is None:
            raise EngineError("the guest server is not running")
        self._call(self._on_loop(returns.hold, guest, on), timeout=5)

    def start_recording(self, guest: str | None = None) -> list[str]:
        return self._call(self._live().roster.start_recording(guest), timeout=15)

    def stop_recording(self, guest: str | None = None) -> list[str]:
        return self._call(self._live().roster.stop_recording(guest), timeout=30)

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
        roster = self._live().roster
        out_dir = Path(self._settings.out_dir)
        self._call(self._on_loop(roster.obs_recording_changed, active, out_dir, path), timeout=5)

    def session_folder(self) -> Path | None:
        """The open session's folder, else the last one (None before any)."""
        studio = self._studio
        if studio is None or studio.roster is None:
            return None
        return studio.roster.session_folder()

    # ----- on the loop ------------------------------------------------------------

    def _live(self) -> Studio:
        """The running studio; EngineError when the server is not running."""
        studio = self._studio
        if studio is None or studio.roster is None or not self.running:
            raise EngineError("the guest server is not running")
        return studio

    def _dir(self) -> Any:
        director = self._live().director
        if director is None:
            raise EngineError("the guest server is not running")
        return director

    async def _start_studio(self) -> None:
        assert self._studio is not None
        await self._studio.start()
        self._scheme = self._studio.scheme

    async def _restart_server(self) -> None:
        studio = self._live()
        await studio.restart_server()
        self._scheme = studio.scheme
        self._log("info", f"server restarted; guest link: {self.masked_guest_link}")

    @staticmethod
    async def _on_loop(fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        try:
            return self._loop_thread.call(coro, timeout)
        except LoopNotRunning:
            raise EngineError("the guest server is not running") from None

    def _log(self, level: str, message: str) -> None:
        if self._log_fn is not None:
            try:
                self._log_fn(level, message)
                return
            except Exception:  # noqa: BLE001 - a broken log hook must not stop the engine
                pass
        getattr(logger, level if level in ("info", "warning", "error", "debug") else "info")(message)
