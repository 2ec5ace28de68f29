"""Smoke runs of the benchmark scripts in tests/bench: each script's main(argv), in a child
process of its own (benchmarks count their process's CPU and some patch the product's
modules), its result rows handed back as JSON.

    run = BenchRun("bench_lag", "--modes", "copy", "--seconds", "2")
    rows = run.result(timeout=60)   # raises with the script's output when it failed

Several runs may be started before the first result is asked for: they run side by side.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
BENCH = TESTS / "bench"
LIB = TESTS.parent / "lib"


class BenchRun:
    """One benchmark script running in a child process."""

    def __init__(self, script: str, *args: str) -> None:
        self.script, self.args = script, list(args)
        handle, name = tempfile.mkstemp(prefix=f"{script}-", suffix=".json")
        os.close(handle)
        self._result_path = Path(name)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(LIB)]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "support.bench_runs", str(self._result_path), script, *args],
            cwd=TESTS.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = ""

    @property
    def command(self) -> str:
        return " ".join([f"tests/bench/{self.script}.py", *self.args])

    def result(self, timeout: float) -> Any:
        """The rows the script's main() returned; its printed table is in `output`."""
        try:
            self.output, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output, _ = self.proc.communicate()
            raise AssertionError(
                f"{self.command} took over {timeout:.0f} s:\n{self.output[-4000:]}") from None
        try:
            if self.proc.returncode != 0:
                raise AssertionError(
                    f"{self.command} exited with {self.proc.returncode}:\n{self.output[-4000:]}")
            return json.loads(self._result_path.read_text())
        finally:
            self._result_path.unlink(missing_ok=True)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot hand back {type(value).__name__} from a benchmark")


def _child(argv: list[str]) -> None:
    result_path, script, *args = argv
    sys.path.insert(0, str(BENCH))
    rows = importlib.import_module(script).main(args)
    Path(result_path).write_text(json.dumps(rows, default=_plain))


if __name__ == "__main__":
    _child(sys.argv[1:])
