"""Inside a real OBS, the bridge finds libobs and the frontend API in the running process
(the way that also works in OBS.app and with Windows' obs.dll, where a name lookup does
not), and blog() gets its text as a variadic argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.obs_harness import ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
PROBE = Path(__file__).resolve().parent.parent / "support" / "libobs_probe.py"


def test_libobs_is_found_in_the_running_obs_and_logs_verbatim(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    with ObsHarness(tmp_path, {}, script=PROBE, defaults=False) as h:
        def probe_line() -> str | None:
            return next((line for line in h.log_text().splitlines() if "[libobs-probe]" in line), None)

        line = wait_until(probe_line, 30, what="the probe's line in the OBS log")
    print(line)
    assert "found_by=the running process frontend=yes" in line, line
    assert line.rstrip().endswith("literal=100% %s %d end"), line
    version = line.split("version=", 1)[1].split()[0]
    assert int(version.split(".")[0]) >= 27, line
