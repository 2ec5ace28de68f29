"""Start OBS Studio (under Xvfb when there is no display) and close it the way a user does.

Shared by the run command (install/run_obs.py) and the tests' OBS harness. No libobs here.
Closing matters: SIGTERM ends OBS at once, without unloading scripts, so guest recordings
would not be finalized; a WM_DELETE_WINDOW message to the main window goes through OBS's
normal shutdown, which unloads the script.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from .obs_config import ObsSetup, obs_command, obs_environment


class Xvfb:
    """A private X server; `display` is its name, e.g. ":3"."""

    def __init__(self, size: str = "1280x800x24") -> None:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
        read_fd, write_fd = os.pipe()
        # -displayfd: Xvfb picks a free display number and writes it to us when ready.
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C must not end the X server under OBS
            # before OBS has closed properly.
            start_new_session=True,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.proc.kill()
            self.proc.wait()
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


def start_obs(
    setup: ObsSetup,
    display: str | None,
    *,
    obs_binary: str = "obs",
    output: IO[bytes] | int | None = None,
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    env = obs_environment(setup, display)
    env.update(extra_env or {})
    if display:
        env.pop("WAYLAND_DISPLAY", None)  # we were given an X display: use it
    return subprocess.Popen(
        obs_command(setup, obs_binary), env=env, cwd=cwd,
        stdout=output, stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,  # a terminal's Ctrl-C goes to us; we close OBS properly
    )


def send_delete_window(display: str, pid: int | None = None) -> int:
    """Send WM_DELETE_WINDOW to OBS's main window; returns how many windows were asked.

    Works without a window manager: the top-level windows are the root's children.
    """
    from Xlib import X, protocol
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        root = d.screen().root
        wm_protocols = d.intern_atom("WM_PROTOCOLS")
        wm_delete = d.intern_atom("WM_DELETE_WINDOW")
        net_pid = d.intern_atom("_NET_WM_PID")
        sent = 0
        for window in _top_level_windows(root):
            try:
                name = window.get_wm_name() or ""
                wm_class = window.get_wm_class() or ()
                attrs = window.get_attributes()
            except Exception:  # noqa: BLE001 - a window may vanish while it is looked at
                continue
            if "obs" not in [c.lower() for c in wm_class] or attrs.map_state != X.IsViewable:
                continue
            if not str(name).startswith("OBS "):
                continue  # the main window's title starts with "OBS <version>"
            if pid is not None:
                prop = window.get_full_property(net_pid, X.AnyPropertyType)
                if prop is not None and len(prop.value) and int(prop.value[0]) != pid:
                    continue
            event = protocol.event.ClientMessage(
                window=window, client_type=wm_protocols,
                data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
            window.send_event(event, event_mask=X.NoEventMask)
            sent += 1
        d.flush()
        if not sent:
            raise RuntimeError("OBS main window not found")
        return sent
    finally:
        d.close()


def _top_level_windows(root):
    """Root children, plus their children (a window manager reparents into frames)."""
    for window in root.query_tree().children:
        yield window
        try:
            yield from window.query_tree().children
        except Exception:  # noqa: BLE001 - a window may vanish while it is looked at
            continue


def close_obs(proc: subprocess.Popen, display: str | None, timeout: float = 20.0) -> float:
    """Close OBS like a user; seconds it took, or inf if it had to be killed."""
    if proc.poll() is not None:
        return 0.0
    start = time.monotonic()
    try:
        if not display:
            raise RuntimeError("no X display to send the close to")
        send_delete_window(display, proc.pid)
        proc.wait(timeout)
        return time.monotonic() - start
    except Exception:  # noqa: BLE001 - no clean close, whatever the reason: kill it
        kill_obs(proc)
        return float("inf")


def kill_obs(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
