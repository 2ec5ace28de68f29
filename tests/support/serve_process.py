"""`python -m guestrec serve` as a user runs it, in its own process, for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
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
                self._keep_reading()
                return
            if line.startswith("Guest link: none"):
                self._keep_reading()
                return
            if not line and self.proc.poll() is not None:
                break
        self.proc.kill()
        raise RuntimeError("guestrec serve did not start")

    def _keep_reading(self) -> None:
        # The rest of the output is read as it comes, through the same buffered file that
        # read the first lines (communicate() would read the pipe beneath it and miss what
        # that file had already buffered), and the pipe never fills up.
        self._reader = threading.Thread(target=self._read_rest, daemon=True)
        self._reader.start()

    def _read_rest(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def operator(self) -> dict[str, str]:
        """The operator's request headers."""
        return {"Authorization": f"Bearer {self.operator_key}"}

    def stop(self) -> str:
        """Ctrl-C, as a user would; returns everything the server printed."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        return "".join(self.output)
