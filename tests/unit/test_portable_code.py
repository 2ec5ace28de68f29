"""The code OBS runs has no call that exists on one OS only, unguarded (most OBS users are
on Windows or macOS). Read with `ast` (tests/support/portability.py); the CLI and the
test-only OBS launcher are left out, as OBS never runs them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from support.portability import problems, problems_in

ROOT = Path(__file__).resolve().parents[2]


def obs_run_files() -> list[Path]:
    package = ROOT / "lib" / "guestrec"
    files = [p for p in sorted(package.rglob("*.py")) if "cli" not in p.relative_to(package).parts]
    files = [p for p in files if p.name != "__main__.py"]  # `python -m guestrec`: the CLI
    return [ROOT / "obs_record_plugin.py", *files]


def test_the_code_obs_runs_has_no_one_os_only_call() -> None:
    files = obs_run_files()
    assert len(files) > 50 and ROOT / "lib/guestrec/obs_bridge/libobs.py" in files
    found = [entry for path in files for entry in problems(path, str(path.relative_to(ROOT)))]
    assert not found, "one-OS-only calls in code OBS runs:\n" + "\n".join(found)


ONE_OS_ONLY = [
    ("import os\nos.pwrite(fd, b'x', 0)\n", "os.pwrite is POSIX-only"),
    ("import os\npid = os.fork()\n", "os.fork is POSIX-only"),
    ("import os\nos.setsid()\n", "os.setsid is POSIX-only"),
    ("import os, signal\nos.killpg(1, signal.SIGKILL)\n", "os.killpg is POSIX-only"),
    ("import os, signal\nos.killpg(1, signal.SIGKILL)\n", "signal.SIGKILL does not exist on Windows"),
    ("import signal\nsignal.signal(signal.SIGINT, print)\n", "signal.signal() installs"),
    ("loop.add_signal_handler(2, stop)\n", "add_signal_handler() raises NotImplementedError"),
    ("import ctypes, os\nctypes.CDLL('x', mode=os.RTLD_DEEPBIND)\n", "os.RTLD_DEEPBIND is POSIX-only"),
    ("import os\nfd = os.open(p, os.O_WRONLY | os.O_CREAT)\n", "os.open without O_BINARY"),
    ("import os\ndef f(p):\n    flags = os.O_WRONLY\n    return os.open(p, flags)\n",
     "os.open without O_BINARY"),
    ("import os\nfd = os.open(p, os.O_WRONLY | os.O_BINARY)\n", "os.O_BINARY exists on Windows only"),
    ("open('/proc/self/status')\n", "exists on Linux only"),
    ("LIB = '/usr/lib/x86_64-linux-gnu/libobs.so.0'\n", "exists on Linux only"),
    ("SHM = '/dev/shm/guestrec'\n", "exists on Linux only"),
    ("import fcntl\n", "import fcntl: the module is POSIX-only"),
    ("import ctypes\nk = ctypes.windll.kernel32\n", "ctypes.windll exists on Windows only"),
    ("import os\ndef f(p):\n    opener = None\n    if opener is None:\n        os.startfile(p)\n",
     "os.startfile exists on Windows only"),
]


@pytest.mark.parametrize("source, wanted", ONE_OS_ONLY)
def test_each_kind_of_one_os_call_is_named_with_its_line(source: str, wanted: str) -> None:
    found = problems_in(source, "example.py")
    assert any(wanted in entry for entry in found), found
    line = source.rstrip("\n").count("\n") + 1
    assert any(entry.startswith(f"example.py:{line}:") for entry in found), found


GUARDED_OR_HARMLESS = [
    """
    import os
    fd = os.open(p, os.O_WRONLY | getattr(os, 'O_BINARY', 0))
    """,
    """
    import os
    O_BINARY = getattr(os, 'O_BINARY', 0)
    def f(p):
        flags = os.O_WRONLY | O_BINARY
        return os.open(p, flags)
    """,
    """
    import ctypes, os, sys
    def f(p):
        if not sys.platform.startswith('linux') or not hasattr(os, 'RTLD_DEEPBIND'):
            return []
        return ctypes.CDLL(p, mode=os.RTLD_NOW | os.RTLD_DEEPBIND)
    """,
    """
    import ctypes, sys
    if sys.platform == 'win32':
        k = ctypes.WinDLL('kernel32')
    """,
    """
    import os
    try:
        write = os.pwrite
    except AttributeError:
        write = None
    """,
    '''
    def f():
        """Reads /proc/self/status on Linux."""
        # /dev/shm is not used
        return 1
    ''',
    """
    URL = 'http://127.0.0.1/whip/tmp/x'
    """,
    """
    import os, sys
    def f(p):
        opener = {'win32': None}.get(sys.platform, ['xdg-open'])
        if opener is None:
            os.startfile(p)
    """,
]


@pytest.mark.parametrize("source", GUARDED_OR_HARMLESS)
def test_guarded_or_harmless_code_passes(source: str) -> None:
    assert problems_in(textwrap.dedent(source), "example.py") == []
