"""Run a real OBS Studio under Xvfb with our own configuration, for the `obs` tests.

    with ObsHarness(tmp_path, script_settings={...}) as h:
        h.ws.get_input_list()               # obs-websocket (obsws_python.ReqClient)
        h.wait_for_server()                 # the script's guest server answers
        h.close_window()                    # what a user's close does; returns seconds taken

OBS gets a temporary XDG_CONFIG_HOME (global.ini, a profile, a scene collection that
loads the script with the given settings) and --multi, so nothing of a user's OBS is
read or written and no "already running" question can block start-up.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from guestrec.obs_setup import ObsSetup, free_port, latest_log, obs_command, obs_environment, write_all  # noqa: E402

SCRIPT = ROOT / "obs_record_plugin.py"
# obsws_python logs every refused connection while OBS is still starting.
logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
OBS_BINARY = shutil.which("obs") or "/usr/bin/obs"


def obs_available() -> str | None:
    """Why OBS tests cannot run here, or None when they can."""
    for tool in ("obs", "Xvfb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last failure on timeout
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f" (last error: {last_exc!r})" if last_exc else ""))


class Xvfb:
    def __init__(self, size: str = "1280x800x24") -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.proc.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ObsHarness:
    def __init__(
        self,
        workdir: Path,
        script_settings: dict[str, Any] | None = None,
        *,
        canvas: tuple[int, int] = (640, 360),
        fps: int = 15,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.guest_port = free_port()
        self.ws_port = free_port()
        self.token = "test-token-0123456789"
        self.out_dir = self.workdir / "guests"
        self.obs_record_dir = self.workdir / "obs-recordings"
        settings = {
            "host": "127.0.0.1", "port": self.guest_port, "token": self.token,
            "out_dir": str(self.out_dir), "record_mode": "video", "bitrate_kbps": 1000,
            "codec": "vp8", "auto_record": True, "follow_obs_recording": False,
            "add_to_scene": True,
        }
        settings.update(script_settings or {})
        self.setup = ObsSetup(
            config_home=self.workdir / "config",
            script_path=SCRIPT,
            script_settings=settings,
            websocket_port=self.ws_port,
            record_dir=self.obs_record_dir,
            canvas=canvas,
            fps=fps,
            confirm_on_exit=False,
            fresh=True,
        )
        self.extra_env = extra_env or {}
        self.xvfb: Xvfb | None = None
        self.proc: subprocess.Popen | None = None
        self._ws = None
        self.stdout_path = self.workdir / "obs-stdout.txt"

    # ----- start / stop ---------------------------------------------------------------

    def start(self, timeout: float = 90) -> "ObsHarness":
        write_all(self.setup)
        self.xvfb = Xvfb()
        env = obs_environment(self.setup, self.xvfb.display)
        env.update(self.extra_env)
        env.pop("WAYLAND_DISPLAY", None)
        self._stdout = self.stdout_path.open("wb")
        self.proc = subprocess.Popen(
            obs_command(self.setup, OBS_BINARY), env=env, cwd=self.workdir,
            stdout=self._stdout, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(self._ws_ready, timeout, 0.5, "obs-websocket")
        return self

    def _ws_ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"OBS exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        import obsws_python as obsws

        self._ws = obsws.ReqClient(host="127.0.0.1", port=self.ws_port, password="", timeout=10)
        return True

    @property
    def ws(self):
        if self._ws is None:
            raise RuntimeError("OBS is not running")
        return self._ws

    def event_client(self, subs: int):
        import obsws_python as obsws

        return obsws.EventClient(host="127.0.0.1", port=self.ws_port, password="", timeout=10,
                                 subs=subs)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close_window(self, timeout: float = 20) -> float:
        """Close OBS the way a user does (WM_DELETE_WINDOW); seconds until the process ended."""
        self._disconnect_ws()
        start = time.monotonic()
        send_delete_window(self.xvfb.display, self.proc.pid)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return float("inf")
        return time.monotonic() - start

    def stop(self) -> None:
        self._disconnect_ws()
        if self.alive():
            try:
                if self.close_window(15) == float("inf"):
                    raise TimeoutError
            except Exception:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.xvfb is not None:
            self.xvfb.stop()
            self.xvfb = None
        if getattr(self, "_stdout", None):
            self._stdout.close()

    def _disconnect_ws(self) -> None:
        if self._ws is not None:
            try:
                self._ws.disconnect()
            except Exception:
                pass
            self._ws = None

    def __enter__(self) -> "ObsHarness":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- guest server and logs ------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.guest_port}"

    def whip_url(self, guest: str) -> str:
        from urllib.parse import quote

        return f"{self.base_url}/whip/{quote(guest)}"

    def wait_for_server(self, timeout: float = 30) -> None:
        def up() -> bool:
            try:
                urllib.request.urlopen(self.base_url + "/", timeout=2).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answers; the status does not matter here
        wait_until(up, timeout, 0.3, "the guest server")

    def log_text(self) -> str:
        path = latest_log(self.setup)
        text = path.read_text(errors="replace") if path else ""
        return text

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def guestrec_log_lines(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if "[guestrec]" in line]

    def handover_stats(self) -> dict[str, dict[str, Any]]:
        """The bridge's hand-over stats lines, per guest (logged when a guest leaves)."""
        found: dict[str, dict[str, Any]] = {}
        marker = "hand-over stats "
        for line in self.guestrec_log_lines():
            if marker in line:
                rest = line.split(marker, 1)[1]
                name_json, _, stats_json = rest.partition(" ")
                found[json.loads(name_json)] = json.loads(stats_json)
        return found


def send_delete_window(display: str, pid: int | None = None) -> int:
    """Send WM_DELETE_WINDOW to OBS's main window; returns how many windows were asked."""
    from Xlib import X, display as xdisplay, protocol

    d = xdisplay.Display(display)
    try:
        root = d.screen().root
        wm_protocols = d.intern_atom("WM_PROTOCOLS")
        wm_delete = d.intern_atom("WM_DELETE_WINDOW")
        net_pid = d.intern_atom("_NET_WM_PID")
        sent = 0
        for window in root.query_tree().children:
            try:
                name = window.get_wm_name() or ""
                wm_class = window.get_wm_class() or ()
                attrs = window.get_attributes()
            except Exception:
                continue
            if "obs" not in [c.lower() for c in wm_class] or attrs.map_state != X.IsViewable:
                continue
            if not str(name).startswith("OBS "):
                continue
            if pid is not None:
                prop = window.get_full_property(net_pid, X.AnyPropertyType)
                if prop is not None and prop.value and int(prop.value[0]) != pid:
                    continue
            event = protocol.event.ClientMessage(
                window=window, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
            window.send_event(event, event_mask=X.NoEventMask)
            sent += 1
        d.flush()
        if not sent:
            raise RuntimeError("OBS main window not found")
        return sent
    finally:
        d.close()
