"""What a user sees of the script in a real OBS: its description, its properties, and each
guest source's own properties (status text and record toggle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obs_harness import RED_YUV, BackgroundGuest, ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
PROBE = Path(__file__).resolve().parent / "support" / "obs_script_probe.py"


def dumps(h: ObsHarness) -> list[dict]:
    marker = "[probe-dump] "
    return [json.loads(line.split(marker, 1)[1]) for line in h.log_text().splitlines() if marker in line]


def dump(h: ObsHarness) -> dict:
    count = len(dumps(h))
    h.ws.trigger_hotkey_by_name("guestrec_probe_dump")
    return wait_until(lambda: (lambda d: d[-1] if len(d) > count else None)(dumps(h)), 10, 0.2,
                      "the probe's dump in the log")


def test_description_properties_and_guest_status(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    with ObsHarness(tmp_path, {"auto_record": True}, script=PROBE) as h:
        h.wait_for_server()
        link = f"{h.base_url}/?token={h.token}"
        first = dump(h)
        assert link in first["description"]
        script = first["script"]
        assert script["link_info"] == f"Guest link: {link}"
        assert script["status_info"] == "Guests:\nNo guests yet."
        for name in ("record_mode", "bitrate_kbps", "codec", "out_dir", "auto_record",
                     "follow_obs_recording", "add_to_scene", "host", "port", "token",
                     "start_all", "stop_all", "copy_link", "ice_servers", "turn_secret", "cert_file",
                     "key_file", "sfu", "sfu_room", "sfu_secret"):
            assert name in script, name
        assert first["copy_refreshes"] is True
        assert first["after_copy"]["notice"].startswith(("Guest link copied", "No clipboard tool"))

        guest = BackgroundGuest(h.whip_url("Ivy"), h.token, RED_YUV).join()
        try:
            wait_until(lambda: (h.guests().get("Ivy") or {}).get("recording") or None, 20, 0.5,
                       "Ivy's recording")

            def ivy_shown():
                d = dump(h)
                status = d["sources"].get("Ivy", {}).get("status", "")
                return d if "recording" in status and "Ivy: connected" in d["script"]["status_info"] else None

            shown = wait_until(ivy_shown, 15, 1.0, "Ivy's status in the dialogs")
            ivy = shown["sources"]["Ivy"]
            # The selected candidate pair: on one machine, no NAT between the two.
            assert ivy["status"].startswith("Guest Ivy: connected (direct), recording ")
            assert "File: " in ivy["status"] and str(h.out_dir.resolve()) in ivy["status"]
            assert ivy["record"] == "Record this guest"
        finally:
            guest.leave()


def test_missing_dependencies_are_named_in_the_log(tmp_path: Path) -> None:
    """A copy of the script without its dependencies beside it: OBS keeps running and the
    log says which module is missing and how to install it."""
    import shutil

    reason = obs_available()
    if reason:
        pytest.skip(reason)
    root = Path(__file__).resolve().parent.parent
    bare = tmp_path / "bare"
    shutil.copytree(root / "lib", bare / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(root / "obs_record_plugin.py", bare / "obs_record_plugin.py")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "GUESTREC_SITE_PACKAGES": ""}
    with ObsHarness(tmp_path / "obs", script=bare / "obs_record_plugin.py", extra_env=env) as h:
        line = wait_until(lambda: next((l for l in h.log_text().splitlines()
                                        if "cannot import the Python module" in l), None),
                          20, 0.3, "the error line")
        assert "'av'" in line and "run-obs.sh --install-only" in line and "pip install --target" in line
        assert h.inputs_of_our_kind() == []  # nothing half-started
