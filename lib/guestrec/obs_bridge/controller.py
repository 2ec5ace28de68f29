"""The OBS script's brain, kept out of the script so it can be tested without OBS.

It maps the script's options to engine settings, owns the engine, and keeps OBS's own
threads from ever waiting on guests: engine calls that may block (start, settings,
recording commands) run on one worker thread; a poller thread caches guest status once a
second, so OBS's timers (graphics thread) and property dialogs only read that cache.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..common.plan import RecordSettingsError
from ..export.background_export import BackgroundExport, ExportJob
from ..server.engine import Engine, EngineError
from .options import ScriptOptions, engine_settings, record_value
from .status import watched_state

__all__ = ["GuestRecorderController", "ScriptOptions", "engine_settings", "record_value"]
LogFn = Callable[[str, str], None]
LIVE_REFRESH_S = 2.0  # open guest property dialogs are rebuilt this often while connected
APPLY_DELAY_S = 0.6  # typing in a text field must not restart the server per keystroke
POLL_INTERVAL_S = 1.0


def _wake_only() -> None:
    """A wake-up without work."""


class GuestRecorderController:
    def __init__(
        self,
        options: ScriptOptions,
        *,
        default_out_dir: Callable[[], Path],
        log: LogFn,
        sink_factory: Callable[[str], Any] | None = None,
        on_status_change: Callable[[list[str]], None] | None = None,
        obs_recording: bool = False,
        engine_factory: Callable[..., Engine] = Engine,
        obs_media: Any = None,
    ) -> None:
        self._options = options
        self._default_out_dir = default_out_dir
        self._log = log
        self._sink_factory = sink_factory
        self._on_status_change = on_status_change
        self._obs_recording = obs_recording
        self._engine_factory = engine_factory
        self._obs_media = obs_media  # options.ObsReturnSources: what OBS pushes for the return
        self._engine: Engine | None = None
        self._commands: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pending_options: ScriptOptions | None = None
        self._apply_at = 0.0
        self._status: dict[str, dict[str, Any]] = {}
        self.room_status: dict[str, Any] | None = None  # the VDO.Ninja room's, cached
        self._wanted: dict[str, tuple[bool, float]] = {}  # guest -> (record?, when asked)
        self._notices: dict[str, str] = {}  # guest -> what the last request to it did
        self._last_live_refresh = 0.0
        self._status_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.last_error = ""
        self._ingest_problem: str | None = None
        # The export of the last session (the panel's button), shared with the control room.
        self.exports = BackgroundExport()

    # ----- lifecycle (called on OBS's UI thread) -------------------------------------

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def options(self) -> ScriptOptions:
        return self._pending_options or self._options

    @property
    def guest_link(self) -> str:
        return self._engine.guest_link if self._engine else ""

    @property
    def control_link(self) -> str:
        """The control room (for an OBS Custom Browser Dock), the operator key in it."""
        return self._engine.control_link if self._engine else ""

    def make_invite(self, guest: str) -> str:
        """A new invite's link for `guest` (UI thread: no loop is waited on); raises
        EngineError when none can be made."""
        if self._engine is None:
            raise EngineError("the guest server is not running")
        return self._engine.make_invite(guest)

    @property
    def masked_guest_link(self) -> str:
        """For the OBS log: the token masked (the properties show the full link)."""
        return self._engine.masked_guest_link if self._engine else ""

    @property
    def running(self) -> bool:
        return bool(self._engine and self._engine.running)

    def start(self) -> None:
        """Make the engine and start it on the worker thread; returns at once."""
        try:
            settings, warnings = engine_settings(
                self._options, self._default_out_dir(), self._obs_recording, self._obs_media)
        except (RecordSettingsError, ValueError) as exc:
            self._error(f"settings not usable: {exc}")
            settings, warnings = None, []
        for warning in warnings:
            self._log("warning", warning)
        if settings is not None:
            self._engine = self._engine_factory(
                settings, sink_factory=self._sink_factory, log=self._log, exports=self.exports)
        for target, name in ((self._work, "guestrec-commands"), (self._poll, "guestrec-status")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._engine is not None:
            self._commands.put(self._start_engine)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the engine (recordings finalized) and join our threads. Idempotent."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self.exports.close(timeout=0)  # a running export stops at its next step
        self._commands.put(None)
        engine = self._engine
        if engine is not None:
            engine.stop(timeout=max(0.5, timeout - 0.5))
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
            if thread.is_alive():
                self._log("error", f"thread {thread.name} did not stop in time")
        self._threads = [t for t in self._threads if t.is_alive()]
        if not self.exports.wait(max(0.1, deadline - time.monotonic())):
            self._log("error", "the export did not stop in time")

    # ----- requests from OBS (any thread; never block) --------------------------------

    def update_options(self, options: ScriptOptions) -> None:
        """New options from the properties; applied after a short quiet time."""
        if options == self.options:
            return
        self._pending_options = options
        self._apply_at = time.monotonic() + APPLY_DELAY_S
        self._commands.put(_wake_only)  # wake the worker so it sees the deadline

    def start_all(self) -> None:
        self._commands.put(lambda: self._record(None, True))

    def stop_all(self) -> None:
        self._commands.put(lambda: self._record(None, False))

    def set_recording(self, guest: str, on: bool) -> None:
        with self._status_lock:
            self._wanted[guest] = (on, time.monotonic())
        self._commands.put(lambda: self._record(guest, on))

    def control(self, guest: str, action: str, value: Any = None) -> None:
        """A director's request for one guest: "hang_up", "mute", "unmute", "message"
        (value: the text), "bitrate" (value: kbps), "hold" (value: on). The outcome shows as
        the guest's notice."""
        self._commands.put(lambda: self._control(guest, action, value))

    def notice(self, guest: str) -> str:
        with self._status_lock:
            return self._notices.get(guest, "")

    def session_folder(self) -> Path | None:
        engine = self._engine
        return engine.session_folder() if engine is not None and engine.running else None

    def export_last_session(self, proxies: bool = False) -> ExportJob:
        """Export the last session in the background (any thread; returns at once); its
        progress and result go to the log. Raises ExportBusy while an export runs (this
        one's or the control room's), ExportError when there is no session to export."""
        engine = self._engine
        chosen = self.options.out_dir.strip()  # the engine's, when its settings were usable
        out_dir = engine.settings.out_dir if engine is not None else (
            Path(chosen).expanduser() if chosen else self._default_out_dir())
        return self.exports.start_last(self.session_folder(), out_dir, proxies=proxies,
                                       on_line=lambda line: self._log("info", line))

    def obs_recording_changed(self, active: bool, path: str | None = None) -> None:
        """OBS's own recording started or stopped (path: its file when known)."""
        self._obs_recording = active
        self._commands.put(lambda: self._note_obs_recording(active, path))
        if not self.options.follow_obs_recording:
            return
        self._commands.put(self._apply_current)
        if active:
            self.start_all()
        else:
            self.stop_all()

    # ----- status (cached; safe on any thread, never blocks) ---------------------------

    def guest_status(self, guest: str) -> dict[str, Any] | None:
        with self._status_lock:
            status = self._status.get(guest)
            wanted = self._wanted.get(guest)
        if status is not None and wanted is not None:
            status = dict(status, recording=wanted[0])
        return status

    def statuses(self) -> list[dict[str, Any]]:
        with self._status_lock:
            return [dict(s) for s in self._status.values()]

    def machine_load(self) -> dict[str, Any] | None:
        """Whether the machine takes another guest (server/machine_load.py), None when stopped."""
        engine = self._engine
        with self._status_lock:
            guests = len(self._status)
        return engine.machine_load(guests) if engine is not None else None

    # ----- worker thread --------------------------------------------------------------

    def _work(self) -> None:
        while True:
            wait = None
            if self._pending_options is not None:
                wait = max(0.0, self._apply_at - time.monotonic())
            try:
                command = self._commands.get(timeout=wait)
            except queue.Empty:
                command = _wake_only
            if command is None or self._stop.is_set():
                return
            if self._pending_options is not None and time.monotonic() >= self._apply_at:
                self._run(self._apply_current)
            if command is not _wake_only:
                self._run(command)

    def _run(self, command: Callable[[], None]) -> None:
        try:
            command()
        except EngineError as exc:
            self._error(str(exc))
        except (RecordSettingsError, ValueError) as exc:  # ValueError: e.g. IceConfigError, VdoSettingsError
            self._error(f"settings not usable: {exc}")
        except Exception as exc:  # noqa: BLE001 - keep the worker alive whatever a command does
            self._error(f"{type(exc).__name__}: {exc}")

    def _start_engine(self) -> None:
        engine = self._engine
        if engine is None or engine.running or self._stop.is_set():
            return
        engine.start()
        self.last_error = ""
        self._log("info", f"guest server running; guest link: {engine.masked_guest_link}")

    def _apply_current(self) -> None:
        if self._pending_options is not None:
            self._options, self._pending_options = self._pending_options, None
        settings, warnings = engine_settings(
            self._options, self._default_out_dir(), self._obs_recording, self._obs_media)
        for warning in warnings:
            self._log("warning", warning)
        engine = self._engine
        if engine is None:
            self._engine = self._engine_factory(
                settings, sink_factory=self._sink_factory, log=self._log, exports=self.exports)
            self._start_engine()
            return
        if not engine.running or settings.sfu_key() != engine.settings.sfu_key():
            # Not running (e.g. the port was taken), or guests come another way now: every
            # guest leaves (recordings finalized) and the server starts afresh.
            if engine.running:
                engine.stop(timeout=10)
            self._engine = self._engine_factory(
                settings, sink_factory=self._sink_factory, log=self._log, exports=self.exports)
            self._start_engine()
            return
        engine.apply_settings(settings)
        self.last_error = ""

    def _record(self, guest: str | None, on: bool) -> None:
        engine = self._engine
        if engine is None or not engine.running:
            return
        names = engine.start_recording(guest) if on else engine.stop_recording(guest)
        what = "started" if on else "stopped"
        who = ", ".join(names) if names else "no guest"
        self._log("info", f"recording {what}: {who}")

    def _note_obs_recording(self, active: bool, path: str | None) -> None:
        engine = self._engine
        if engine is not None and engine.running:
            engine.obs_recording_changed(active, path)

    def _control(self, guest: str, action: str, value: Any) -> None:
        engine = self._engine
        try:
            if engine is None or not engine.running:
                raise EngineError("the guest server is not running")
            if action == "hang_up":
                engine.hang_up(guest)
                text = "Hung up."
            elif action in ("mute", "unmute"):
                engine.ask_mute(guest, action == "mute")
                text = f"Asked to {action}."
            elif action == "message":
                engine.message_guest(guest, str(value or ""))
                text = "Message sent."
            elif action == "bitrate":
                text = f"Video bitrate set to {engine.set_guest_bitrate(guest, int(value))} kbps."
            elif action == "hold":
                engine.hold_guest(guest, bool(value))
                with self._status_lock:  # so the source shows it now, not at the next poll
                    if guest in self._status:
                        self._status[guest]["held"] = bool(value)
                text = "On hold: hears nobody, heard by nobody." if value else "Off hold."
            else:
                raise ValueError(f"unknown request {action!r}")
        except Exception as exc:  # noqa: BLE001 - shown to the user on the guest's source
            text = f"Not done: {exc}"
            self._log("warning", f"{guest}: {text}")
        with self._status_lock:
            self._notices[guest] = text
        if self._on_status_change is not None:
            self._on_status_change([guest])

    def _error(self, message: str) -> None:
        self.last_error = message
        self._log("error", message)

    # ----- poller thread --------------------------------------------------------------

    def _poll(self) -> None:
        while not self._stop.wait(POLL_INTERVAL_S):
            engine = self._engine
            if engine is None or not engine.running:
                continue
            try:
                statuses = engine.guests()
                returning = engine.returning_guests()
                self.room_status = engine.vdo_status()
            except Exception:  # noqa: BLE001 - the loop is busy or stopping
                continue  # the loop is busy or stopping; try again next second
            self._store(statuses, returning)
            self._note_ingest_problem(engine.ingest_problem())

    def _note_ingest_problem(self, problem: str | None) -> None:
        """Show an SFU outage (and its end) where the script shows errors."""
        if problem == self._ingest_problem:
            return
        self._ingest_problem = problem
        if problem:
            self.last_error = f"SFU: {problem}"
        elif self.last_error.startswith("SFU: "):
            self.last_error = ""
            self._log("info", "SFU: guests come in again")

    def _store(self, statuses: list[dict[str, Any]], returning: list[str] = ()) -> None:
        fresh = {str(s.get("name")): dict(s) for s in statuses}
        for name in returning:  # dropped, and awaited: not "left" yet
            fresh.setdefault(name, {"name": name, "connected": False, "returning": True})
        now = time.monotonic()
        with self._status_lock:
            old = self._status
            self._status = fresh
            for guest, (on, when) in list(self._wanted.items()):
                seen = fresh.get(guest)
                # Forget a wish once the engine shows it, or after a while regardless.
                if (seen is not None and bool(seen.get("recording")) == on) or now - when > 10:
                    del self._wanted[guest]
        for name in sorted(set(fresh) | set(old)):
            if name not in fresh:
                self._log("info", f"guest {name!r} left")
            elif name not in old:
                self._log("info", f"guest {name!r} joined")
            elif watched_state(old[name])[4] != watched_state(fresh[name])[4]:
                self._log("info", f"guest {name!r} " + ("dropped; waiting for it to reconnect"
                                                        if fresh[name].get("returning") else "reconnected"))
        changed = {
            name for name in set(old) | set(fresh)
            if watched_state(old.get(name)) != watched_state(fresh.get(name))
        }
        if now - self._last_live_refresh >= LIVE_REFRESH_S:
            # Open property dialogs show time, size and bitrate: rebuild them now and then.
            self._last_live_refresh = now
            changed |= {name for name, s in fresh.items() if s.get("connected")}
        if changed and self._on_status_change is not None:
            try:
                self._on_status_change(sorted(changed))
            except Exception:  # noqa: BLE001 - a status callback must not stop the poller
                pass

