"""The operator's buttons in a real OBS.

Export last session for editing, in the script's panel: after a short real guest session
the button is pressed (through OBS's own obs_property_button_clicked, what the Scripts
dialog calls), twice in a row; the second press says an export runs already, the Script
Log follows the first to its end, and the export is on disk.

On hold, in a guest source's properties (set as obs-websocket or the dialog sets it): the
studio holds the guest (the control room's API says so), and lets go again."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from support.obs_harness import RED_YUV, BackgroundGuest, ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
PROBE = Path(__file__).resolve().parent.parent / "support" / "obs_script_probe.py"


def apply_and_dump(h: ObsHarness, request: dict) -> dict:
    """Apply a request through the probe (settings, button presses), then read the panel."""
    (h.workdir / "apply.json").write_text(json.dumps(request))
    target = h.workdir / "probe-dump.json"
    target.unlink(missing_ok=True)
    h.ws.trigger_hotkey_by_name("guestrec_probe_dump")
    return wait_until(lambda: target.exists() and json.loads(target.read_text()), 10, 0.2, "the probe's dump")


def ivy_source(h: ObsHarness, status_start: str) -> dict | None:
    """Ivy's source properties, once their status starts so."""
    source = apply_and_dump(h, {})["sources"].get("Ivy")
    return source if source and source["status"].startswith(status_start) else None


def export_lines(h: ObsHarness) -> list[str]:
    return [line.split("[guestrec] ", 1)[1] for line in h.guestrec_log_lines() if "export" in line.lower()]


def test_export_from_the_panel_and_hold_from_a_guest_source(tmp_path: Path) -> None:
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    h = ObsHarness(tmp_path, script=PROBE,
                   extra_env={"GUESTREC_PROBE_APPLY": str(tmp_path / "apply.json"),
                              "GUESTREC_PROBE_DUMP": str(tmp_path / "probe-dump.json")})
    with h:
        h.wait_for_server()
        panel = apply_and_dump(h, {})["script"]
        assert panel["export_last"] == "Export last session for editing"
        assert panel["export_proxies"] == "Export with proxies (Premiere, Final Cut, Avid)"
        # Before any session: said at once, nothing started.
        nothing = apply_and_dump(h, {"press": "export_last"})["script"]["notice"]
        assert nothing.startswith(f"Nothing to export: there is no recorded session in {h.out_dir}"), nothing

        guest = BackgroundGuest(h.whip_url("Ivy"), h.token, RED_YUV).join()
        try:
            wait_until(lambda: (h.guests().get("Ivy") or {}).get("recording") or None, 20, 0.1,
                       "Ivy's recording")
            source = wait_until(lambda: ivy_source(h, "Ivy: RECORDING"), 10, 0.1, "Ivy's source to show her")
            assert source["hold"] == "On hold (hears nobody, heard by nobody)"
            assert source["settings"]["hold"] is False
            h.ws.set_input_settings("Ivy", {"hold": True}, True)
            wait_until(lambda: h.guests()["Ivy"].get("held") or None, 10, 0.1, "Ivy on hold")
            held = wait_until(lambda: (lambda s: s if s.get("notice") and s["settings"]["hold"] else None)(
                apply_and_dump(h, {})["sources"]["Ivy"]), 10, 0.1, "Ivy's source to show her on hold")
            assert held["notice"] == "On hold: hears nobody, heard by nobody."
            assert held["settings"]["hold"] is True
            h.ws.set_input_settings("Ivy", {"hold": False}, True)
            wait_until(lambda: h.guests()["Ivy"].get("held") is False or None, 10, 0.1, "Ivy off hold")
            time.sleep(2)
        finally:
            guest.leave()
        folder = wait_until(lambda: (lambda found: found[0] if len(found) == 1 and json.loads(
            (found[0] / "session.json").read_text())["ended"] else None)(
            sorted(h.out_dir.glob("Session *"))), 20, 0.1, "the session to end")

        # Two presses in a row, with proxies: the second says the first is running.
        pressed_at = time.monotonic()
        dumped = apply_and_dump(h, {"settings": {"export_proxies": True},
                                    "press": ["export_last", "export_last"]})
        notice = dumped["script"]["notice"]
        assert notice.startswith(f"Not started: an export is already running ({folder.name}, started at "), \
            notice
        done = wait_until(lambda: next((line for line in export_lines(h) if " done: " in line), None),
                          60, 0.1, "the export's last line in the Script Log")
        took = time.monotonic() - pressed_at
        lines = export_lines(h)

    print("\n".join(lines))
    print(f"pressed to done in the Script Log: {took:.1f} s")
    assert f"Exporting {folder.name} for editing; the Script Log shows how it goes." in lines
    assert any(line.startswith(f"Not started: an export is already running ({folder.name}") for line in lines)
    assert f"export of {folder.name} started (timelines, stems and proxies): {folder}" in lines
    for wanted in ("export: session.otio written", "export: stem Ivy.wav written"):
        assert wanted in lines, lines
    assert any(re.fullmatch(r"export: proxy 1/1 Ivy .*\.mov: 100%", line) for line in lines), lines
    assert re.fullmatch(rf"export of {re.escape(folder.name)} done: \d+ files in "
                        rf"{re.escape(str(folder / 'export'))} \([\d.]+ s\); its README.txt says which "
                        r"editor opens which file", done), done
    for name in ("session.otio", "session.fcpxml", "session.xml", "session.kdenlive", "session.edl",
                 "README.txt", "stems/Ivy.wav"):
        assert (folder / "export" / name).is_file(), name
    assert len(list((folder / "export" / "proxies").glob("Ivy *.mov"))) == 1
