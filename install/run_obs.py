"""Start OBS Studio with the Guest Recorder script loaded (run by install/run-obs.sh).

Writes an OBS configuration of our own (a profile, a scene collection that loads the
script, obs-websocket switched on) under --home, so a user's own OBS set-up is untouched,
then starts OBS with it: on the desktop when there is one, else under Xvfb. Prints the
guest link and the obs-websocket port, and closes OBS properly on Ctrl-C (guest recordings
are finalized). Safe to run again: scenes, guest sources and settings changed in OBS are
kept; only options given on the command line are set again.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib"))

from obs_launcher.obs_config import (  # noqa: E402
    ObsSetup,
    latest_log,
    read_global_ini,
    script_settings_from_collection,
    write_all,
)
from obs_launcher.obs_process import Xvfb, close_obs, start_obs  # noqa: E402

SCRIPT = REPO / "obs_record_plugin.py"
LINK_LINE = re.compile(r"\[guestrec\] guest server running; guest link: (\S+)")
ERROR_LINE = re.compile(r"\[guestrec\] .*(error|cannot|not usable|refused).*", re.IGNORECASE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Start OBS Studio with the Guest Recorder script.")
    p.add_argument("--home", type=Path, default=REPO / ".obs-run",
                   help="folder for our OBS configuration and logs (default: .obs-run in the repository)")
    p.add_argument("--host", help="guest server address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="guest server port (default 8765)")
    p.add_argument("--token", help="guest token (default: one made at the first run and kept)")
    p.add_argument("--out", type=Path, help="folder for guest recordings (default: OBS's recording folder)")
    p.add_argument("--record", help="the &record value: N = video kbps, -N = Opus kbps, 0 = PCM")
    p.add_argument("--codec", choices=("vp8", "vp9", "av1", "h264", "copy"))
    p.add_argument("--ws-port", type=int, default=None, help="obs-websocket port (default 4455)")
    p.add_argument("--ws-password", default=None,
                   help="obs-websocket password (default: one made at the first run; '' for none)")
    p.add_argument("--headless", action="store_true", help="run under Xvfb even with a display")
    p.add_argument("--obs", default=shutil.which("obs") or "obs", help="the obs binary")
    p.add_argument("--profile", default="GuestRecorder")
    p.add_argument("--collection", default="GuestRecorder")
    p.add_argument("--timeout", type=float, default=90, help="seconds to wait for OBS to come up")
    return p.parse_args(argv)


def record_overrides(value: str | None) -> dict[str, object]:
    """The script's mode/bitrate properties for a &record value."""
    if value is None:
        return {}
    number = int(value)
    if number == 0:
        return {"record_mode": "pcm"}
    if number < 0:
        return {"record_mode": "opus", "audio_kbps": -number}
    return {"record_mode": "video", "video_kbps": number}


def check_obs_python(obs_binary: str) -> None:
    """Warn when OBS links another Python than the one the dependencies were built for."""
    libdirs = [Path("/usr/lib/x86_64-linux-gnu/obs-scripting"), Path("/usr/lib/obs-scripting"),
               Path("/usr/lib64/obs-scripting")]
    for folder in libdirs:
        module = folder / "_obspython.so"
        if not module.exists() or shutil.which("ldd") is None:
            continue
        out = subprocess.run(["ldd", str(module)], capture_output=True, text=True).stdout
        match = re.search(r"libpython(\d+\.\d+)", out)
        if match and match.group(1) != f"{sys.version_info[0]}.{sys.version_info[1]}":
            print(f"warning: OBS uses Python {match.group(1)} but the dependencies were installed "
                  f"for Python {sys.version_info[0]}.{sys.version_info[1]}; set GUESTREC_PYTHON to a "
                  f"python{match.group(1)} and run install/run-obs.sh again", file=sys.stderr)
        return


def build_setup(args: argparse.Namespace) -> ObsSetup:
    home = args.home.resolve()
    config_home = home / "config"
    probe = ObsSetup(config_home=config_home, script_path=SCRIPT, profile=args.profile,
                     collection=args.collection)
    stored = script_settings_from_collection(probe)
    ini = read_global_ini(probe)
    ws = ini["OBSWebSocket"] if ini.has_section("OBSWebSocket") else {}
    ws_port = args.ws_port or int(ws.get("ServerPort", 4455) or 4455)
    if args.ws_password is not None:
        ws_password = args.ws_password
    else:
        ws_password = ws.get("ServerPassword", "") if ws else secrets.token_urlsafe(12)
    defaults: dict[str, object] = {
        "host": "127.0.0.1", "port": 8765,
        "token": stored.get("token") or secrets.token_urlsafe(16),
    }
    overrides: dict[str, object] = {}
    for key, value in (("host", args.host), ("port", args.port), ("token", args.token),
                       ("codec", args.codec)):
        if value is not None:
            overrides[key] = value
    if args.out is not None:
        overrides["out_dir"] = str(args.out.expanduser().resolve())
    overrides.update(record_overrides(args.record))
    return ObsSetup(
        config_home=config_home, script_path=SCRIPT, script_settings=defaults,
        script_overrides=overrides, profile=args.profile, collection=args.collection,
        websocket_port=ws_port, websocket_password=ws_password,
        record_dir=None if (config_home / "obs-studio").exists() else Path.home() / "Videos",
    )


def wait_for_link(setup: ObsSetup, proc: subprocess.Popen, old_logs: set[Path],
                  timeout: float) -> str | None:
    """The guest link the script logs once its server runs (None on an error or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        log = latest_log(setup)
        if log is not None and log not in old_logs:  # this start's log, not an earlier one
            text = log.read_text(errors="replace")
            match = LINK_LINE.search(text)
            if match:
                return match.group(1)
            errors = ERROR_LINE.findall(text)
            if errors:
                for line in ERROR_LINE.finditer(text):
                    print(f"OBS log: {line.group(0)}", file=sys.stderr)
                return None
        time.sleep(0.5)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which(args.obs) is None and not Path(args.obs).exists():
        print(f"error: {args.obs} not found; install obs-studio", file=sys.stderr)
        return 1
    check_obs_python(args.obs)
    setup = build_setup(args)
    write_all(setup)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)

    xvfb = None
    display = os.environ.get("DISPLAY")
    if args.headless or not (display or os.environ.get("WAYLAND_DISPLAY")):
        xvfb = Xvfb()
        display = xvfb.display
        print(f"No display in use: OBS runs headless on Xvfb {display}")
    old_logs = set(setup.log_dir.glob("*.txt"))
    output = (home / "obs-output.log").open("wb")
    proc = start_obs(setup, display if xvfb else None, obs_binary=args.obs, output=output, cwd=home)

    stop_requested = threading.Event()

    def request_stop(signum, _frame) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    link = wait_for_link(setup, proc, old_logs, args.timeout)
    if link:
        # The OBS log shows the token masked; this terminal is the user's own, so it gets
        # the full link, with the token this command gave the script.
        token = setup.script_overrides.get("token") or setup.script_settings.get("token")
        link = re.sub(r"([?&]token=)[^&\s]*", lambda m: m.group(1) + str(token), link)
    print()
    print(f"OBS Studio is running (pid {proc.pid}); scene collection and profile: {args.collection}")
    if link:
        print(f"Guest link:         {link}")
    else:
        print("Guest link:         not available; see the errors above and the OBS log")
    print(f"obs-websocket:      ws://127.0.0.1:{setup.websocket_port}"
          + (f"  (password: {setup.websocket_password})" if setup.websocket_password else "  (no password)"))
    print(f"OBS log folder:     {setup.log_dir}")
    print("Press Ctrl-C to close OBS (guest recordings are finalized first).", flush=True)

    try:
        while proc.poll() is None and not stop_requested.is_set():
            time.sleep(0.3)
        if proc.poll() is None:
            print("Closing OBS ...", flush=True)
            took = close_obs(proc, display, timeout=20)
            if took == float("inf"):
                print("OBS did not close in time and was killed", file=sys.stderr)
    finally:
        if xvfb is not None:
            xvfb.stop()
        output.close()
    return 0 if proc.returncode in (0, None) else proc.returncode


if __name__ == "__main__":
    sys.exit(main())
