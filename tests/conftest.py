"""Shared pytest set-up: the package lives under lib/, test helpers under tests/support."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT / "lib", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian's chromium")
    config.addinivalue_line("markers", "obs: needs Debian's obs-studio and Xvfb")
    config.addinivalue_line("markers", "slow: takes more than ~20 s")
