"""`python -m guestrec sfu-record` (and sfu-link) as a machine runs it, in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the repository
READY = "Recording share"


class GuestrecProcess:
    """`python -m guestrec ARGS...`, its output collected; ready once `ready` is printed."""

    def __init__(self, args: list[str], ready: str) -> None:
        self.lines: list[str] = []
        env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guestrec", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self.wait_for(ready, 30):
            self.kill()
            raise RuntimeError(f"guestrec {args[0]} did not start:\n" + self.output)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.proc.poll() is not None:
                self._reader.join(2)
                return text in self.output
            time.sleep(0.05)
        return False

    def stop(self) -> str:
        """Ctrl-C, as a user would; returns everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.output

    def kill(self) -> None:
        """A crash: no chance to finalize anything."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)


class RecorderProcess(GuestrecProcess):
    def __init__(self, rig, out: Path, shard: str = "1/1", *args: str) -> None:
        self.out = out
        super().__init__(["sfu-record", "--sfu", rig.sfu, "--sfu-room", str(rig.room),
                          "--sfu-secret", rig.api_secret, "--shard", shard, "--out", str(out), *args],
                         READY)
