"""`python -m guestrec serve` as a user runs it, in its own process, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from obs_launcher.obs_config import free_port

ROOT = Path(__file__).resolve().parent.parent.parent  # the repository


class ServeProcess:
    """A real server process; `base`, `token` and `operator_key` come from what it prints
    (`token` is None with --invite-only)."""

    def __init__(self, out: Path, *args: str, prefix: list[str] | None = None,
                 port: int | None = None) -> None:
        """`prefix` runs the server under another command (e.g. `ip netns exec NS`)."""
        self.output: list[str] = []
        self.operator_key = ""
        self.token: str | None = None
        env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
        self.proc = subprocess.Popen(
            [*(prefix or []), sys.executable, "-m", "guestrec", "serve", "--port", str(port or free_port()),
             "--out", str(out), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            self.output.append(line)
            control = re.search(r"Control room: (\S+)/control#key=(\S+)", line)
            if control:
                self.base, self.operator_key = control.group(1), control.group(2)
            match = re.search(r"Guest link: (\S+)/\?token=(\S+)", line)
            if match:
                self.base, self.token = match.group(1), match.group(2)
                return
            if line.startswith("Guest link: none"):
                return
            if not line and self.proc.poll() is not None:
                break
        self.proc.kill()
        raise RuntimeError("guestrec serve did not start")

    def operator(self) -> dict[str, str]:
        """The operator's request headers."""
        return {"Authorization": f"Bearer {self.operator_key}"}

    def stop(self) -> str:
        """Ctrl-C, as a user would; returns everything the server printed."""
        self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return "".join(self.output) + (out or "")
