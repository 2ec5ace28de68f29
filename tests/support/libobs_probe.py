"""An OBS script for tests: opens the bridge's libobs bindings and writes one line with
them, so a test can see how libobs was found and that blog's variadic text arrives whole.
Loaded by tests/obs/test_obs_libobs_lookup.py in place of the product script.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lib"))

from guestrec.obs_bridge.libobs import api, obs_log  # noqa: E402

MARK = "[libobs-probe]"


def script_description():
    return "libobs lookup probe (tests)"


def script_load(settings):
    lib = api()
    major, minor, patch = lib.version()
    frontend = "yes" if lib.frontend is not None else "no"
    # '%' signs and a format directive must come out as written: the text is an argument.
    obs_log("info", f"{MARK} found_by={lib.found_by} frontend={frontend} "
                    f"version={major}.{minor}.{patch} literal=100% %s %d end")
