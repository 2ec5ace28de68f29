"""Shared pytest set-up: the package lives under lib/, test helpers under tests/support.

A test's tier is the folder it is written in (tests/README.md): each folder's tests get the
folder's marker, so `-m fast` (tests/unit) needs no browser, OBS, Janus, namespace or root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
for extra in (ROOT / "lib", TESTS):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# The product's default ICE server is a public STUN server; tests reach nothing outside
# 127.0.0.1 and their own network namespaces, so their default is none (inherited by the
# servers and OBS instances they start). Tests that want ICE servers set them explicitly.
os.environ["GUESTREC_DEFAULT_ICE_SERVERS"] = "[]"

# tests/bench holds benchmark scripts, run by hand; their smoke runs are tests in the tiers
# (tests/unit/test_bench_smoke.py and the like).
collect_ignore = ["bench"]

# folder -> (marker, what the folder's tests need)
TIERS = {
    "unit": ("fast", "nothing but Python and FFmpeg's libraries (PyAV): the fast tier, under a minute"),
    "studio": ("studio", "real servers, guests and recordings on 127.0.0.1 (aiortc, FFmpeg)"),
    "browser": ("browser", "Debian's chromium"),
    "obs": ("obs", "Debian's obs-studio and Xvfb"),
    "sfu": ("janus", "Debian's Janus"),
    "netrig": ("netrig", "root, ip netns, nftables and coturn"),
    "vdoninja": ("vdoninja", "the real VDO.Ninja app and handshake server, in a namespace"),
}


def pytest_configure(config: pytest.Config) -> None:
    for marker, needs in TIERS.values():
        config.addinivalue_line("markers", f"{marker}: needs {needs}")
    config.addinivalue_line("markers", "slow: takes more than ~20 s")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(item.fspath).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        tier = TIERS.get(folder)
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of the tier folders {sorted(TIERS)}")
        item.add_marker(tier[0])
