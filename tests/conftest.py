"""Shared pytest set-up: the package lives under lib/, test helpers under tests/support."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT / "lib", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# The product's default ICE server is a public STUN server; tests reach nothing outside
# 127.0.0.1 and their own network namespaces, so their default is none (inherited by the
# servers and OBS instances they start). Tests that want ICE servers set them explicitly.
os.environ["GUESTREC_DEFAULT_ICE_SERVERS"] = "[]"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian's chromium")
    config.addinivalue_line("markers", "obs: needs Debian's obs-studio and Xvfb")
    config.addinivalue_line("markers", "slow: takes more than ~20 s")
    config.addinivalue_line("markers", "netrig: needs root, ip netns, nftables and coturn")
