"""The product's run command: install/run-obs.sh starts OBS with the script loaded, prints
the guest link and the obs-websocket port, and closes OBS properly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from obs_launcher.obs_config import ObsSetup, free_port, script_settings_from_collection
from support.obs_harness import ROOT, obs_available

pytestmark = [pytest.mark.obs]


def run_and_stop(home: Path, *args: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(
        ["bash", str(ROOT / "install" / "run-obs.sh"), "--home", str(home), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(lines)
        link = re.search(r"Guest link:\s+(http\S+)", text)
        assert link, text
        import urllib.request

        with urllib.request.urlopen(link.group(1), timeout=5) as resp:
            assert resp.status == 200  # the guest page, served from inside OBS
        ws_port = int(re.search(r"obs-websocket:\s+ws://127.0.0.1:(\d+)", text).group(1))
        import obsws_python as obsws

        client = obsws.ReqClient(host="127.0.0.1", port=ws_port, password="", timeout=10)
        kinds = client.get_input_kind_list(False).input_kinds
        client.disconnect()
        assert "guestrec_webrtc_guest" in kinds
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        rest, _ = proc.communicate(timeout=40)
        return text + rest, proc.returncode
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_run_command_starts_obs_prints_the_link_and_closes_cleanly(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "run"
    port, ws_port = free_port(), free_port()
    out, code = run_and_stop(home, "--port", str(port), "--ws-port", str(ws_port),
                             "--ws-password", "", "--out", str(tmp_path / "guests"))
    assert code == 0, out
    assert f"Guest link:         http://127.0.0.1:{port}/?token=" in out
    assert "Closing OBS" in out
    setup = ObsSetup(config_home=home / "config", script_path=ROOT / "obs_record_plugin.py")
    logs = sorted(setup.log_dir.glob("*.txt"))
    assert "[guestrec] stopped (OBS is closing)" in logs[-1].read_text()
    token = script_settings_from_collection(setup)["token"]
    assert f"?token={token}" in out

    # Again: same token, settings kept, the new port taken.
    port2 = free_port()
    out2, code2 = run_and_stop(home, "--port", str(port2), "--ws-port", str(ws_port),
                               "--ws-password", "")
    assert code2 == 0, out2
    assert f"http://127.0.0.1:{port2}/?token={token}" in out2
    assert script_settings_from_collection(setup)["out_dir"] == str((tmp_path / "guests").resolve())
