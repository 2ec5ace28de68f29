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
                     "start_all", "stop_all", "copy_link"):
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
            assert ivy["status"].startswith("Guest Ivy: connected, recording ")
            assert "File: " in ivy["status"] and str(h.out_dir.resolve()) in ivy["status"]
            assert ivy["record"] == "Record this guest"
        finally:
            guest.leave()
