"""The return inside OBS: guests hear one OBS audio track (never themselves) and may see
OBS's program.

A real OBS (Xvfb, our own configuration) plays a tone from a looping Media Source on
track 6 only; an aiortc guest sends its own, different tone and asks for a return
(sendrecv). What the guest receives is decoded and its spectrum read: OBS's tone is
there and the guest's own is not, although OBS mixes the guest's source too (on the
other tracks). The guest's source is left out of track 6 by the script. Set to "None"
(as in the Scripts dialog), the guest no longer hears OBS and its source is back on 6.
With "Guests see" set to OBS's program, a guest watching its grid (its own green picture)
gets the red of a colour source OBS shows instead.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from support.obs_harness import (
    GREEN_RGB,
    RED_RGB,
    ObsHarness,
    close_to,
    obs_available,
    wait_until,
)
from support.obs_return_guest import GuestThread
from support.tones import tone_levels, write_tone_wav

pytestmark = [pytest.mark.obs, pytest.mark.slow]
SETTINGS_HELPER = Path(__file__).resolve().parent.parent / "support" / "obs_settings_helper.py"
RELOAD_HELPER = SETTINGS_HELPER.with_name("obs_reload_helper.py")
OBS_HZ = 1800.0  # the studio's sound, on OBS track 6
GUEST_HZ = 600.0  # the guest's own voice (GuestThread's tone)
HEARD_DB = -35.0  # tones at 0.3 of full scale come in around -13 dB
QUIET_BY_DB = 40.0  # what must not be heard is at least this far below what is
ALL_TRACKS = {str(n): True for n in range(1, 7)}


def tracks_of(h: ObsHarness, name: str) -> dict[str, bool]:
    return dict(h.ws.get_input_audio_tracks(name).input_audio_tracks)


def change_settings(h: ObsHarness, values: dict) -> None:
    h.settings_file.write_text(json.dumps(values))
    h.ws.trigger_hotkey_by_name("guestrec_test_settings")


@pytest.fixture(scope="module")
def obs_return(tmp_path_factory):
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("obs-return")
    tone = workdir / "studio-tone.wav"
    write_tone_wav(tone, OBS_HZ, seconds=2.0)
    settings_file = workdir / "settings.json"
    harness = ObsHarness(workdir / "obs", {"start_recording": "manual", "studio_track": 6,
                                           "return_video": "grid", "add_to_scene": True},
                         extra_scripts=[SETTINGS_HELPER],
                         extra_env={"GUESTREC_TEST_SETTINGS": str(settings_file)})
    with harness as h:
        h.wait_for_server()
        h.settings_file = settings_file
        scene = h.ws.get_current_program_scene().current_program_scene_name
        h.ws.create_input(scene, "Studio tone", "ffmpeg_source",
                          {"is_local_file": True, "local_file": str(tone), "looping": True}, True)
        h.ws.set_input_audio_tracks("Studio tone", {**{str(n): False for n in range(1, 6)}, "6": True})
        yield h


def levels_until(guest: GuestThread, seconds: float, ready, within: float) -> dict[float, float]:
    """The tones in `seconds` windows of what the guest hears, listened to again until
    `ready(levels)` or until `within` seconds have passed; the last window's either way."""
    deadline = time.monotonic() + within
    while True:
        levels = tone_levels(guest.heard(seconds), [OBS_HZ, GUEST_HZ])
        if ready(levels) or time.monotonic() >= deadline:
            return levels


def rounded(levels: dict[float, float]) -> dict[float, float]:
    return {hz: round(db, 1) for hz, db in levels.items()}


def test_guest_hears_obs_track_six_and_never_itself(obs_return: ObsHarness) -> None:
    h = obs_return
    guest = GuestThread(h.whip_url("Gina"), h.token, tone_hz=GUEST_HZ)
    try:
        guest.join()
        wait_until(lambda: "Gina" in h.inputs_of_our_kind(), 15, what="Gina's source")
        # OBS's own mixer has Gina's voice on tracks 1-5, never on the one guests hear.
        assert wait_until(lambda: tracks_of(h, "Gina") == {**ALL_TRACKS, "6": False} or None,
                          10, what="Gina's source out of track 6")
        assert h.meter_peak("Gina") > 0.1, "OBS should be playing Gina's voice"
        # Until OBS's track is heard, at least as long as the fixed 1 s + 3 s this was.
        levels = levels_until(guest, 3.0, lambda lv: lv[OBS_HZ] > HEARD_DB, 4.0)
        assert levels[OBS_HZ] > HEARD_DB, f"Gina should hear OBS's track 6: {rounded(levels)}"
        assert levels[GUEST_HZ] < levels[OBS_HZ] - QUIET_BY_DB, f"Gina hears herself: {rounded(levels)}"

        change_settings(h, {"studio_track": 0})
        wait_until(lambda: tracks_of(h, "Gina") == ALL_TRACKS or None, 10,
                   what="Gina's source back on track 6")
        time.sleep(1.5)
        silent = tone_levels(guest.heard(2.0), [OBS_HZ, GUEST_HZ])
        assert silent[OBS_HZ] < levels[OBS_HZ] - QUIET_BY_DB, \
            f"with None Gina should not hear OBS: {rounded(silent)}, before {rounded(levels)}"
        assert silent[GUEST_HZ] < levels[OBS_HZ] - QUIET_BY_DB, f"Gina hears herself: {rounded(silent)}"
        change_settings(h, {"studio_track": 6})
        wait_until(lambda: tracks_of(h, "Gina") == {**ALL_TRACKS, "6": False} or None, 10,
                   what="Gina's source out of track 6 again")
        # The settings applied, the track read again once the mixer asks: until heard, at
        # least as long as the fixed 2.5 s + 2 s this was.
        again = levels_until(guest, 2.0, lambda lv: lv[OBS_HZ] > HEARD_DB, 4.5)
        assert again[OBS_HZ] > HEARD_DB, f"Gina should hear OBS's track 6 again: {rounded(again)}"
    finally:
        guest.close()
    log = h.log_text()
    assert "guests hear OBS's audio track 6" in log and "guests hear no OBS track" in log
    # Nobody listens any more: OBS's audio thread no longer calls into Python.
    wait_until(lambda: h.log_text().count("no longer reading an OBS audio track") >= 2, 10, 0.1,
               "the track's callback removed once nobody listens")


def test_guest_sees_obs_program_instead_of_the_grid(obs_return: ObsHarness) -> None:
    h = obs_return
    guest = GuestThread(h.whip_url("Vera"), h.token, tone_hz=GUEST_HZ, video=True)
    try:
        guest.join()
        wait_until(lambda: "Vera" in h.inputs_of_our_kind(), 15, what="Vera's source")
        scene = h.ws.get_current_program_scene().current_program_scene_name
        h.ws.create_input(scene, "Red", "color_source_v3",  # on top of everything, the whole canvas
                          {"color": 0xFF0000FF, "width": 640, "height": 360}, True)  # ABGR: red
        # The grid: Vera sees her own green picture.
        wait_until(lambda: guest.guest.colour and close_to(guest.guest.colour, GREEN_RGB, 40), 20, 0.1,
                   "Vera's grid picture")
        change_settings(h, {"return_video": "program"})
        seen = wait_until(lambda: guest.guest.colour if close_to(guest.guest.colour, RED_RGB, 40) else None,
                          15, 0.1, "OBS's red program in Vera's return")
        frames_before = len(guest.guest.seen)
        time.sleep(2.0)
        fps = (len(guest.guest.seen) - frames_before) / 2.0
        assert 5 <= fps <= 16, f"the program reaches guests at {fps} fps"
        print(f"program seen as {tuple(round(c) for c in seen)} at {fps} fps")
    finally:
        guest.close()
    # Nobody watches any more: OBS no longer hands its program to Python.
    wait_until(lambda: "no longer reading OBS's program" in h.log_text(), 10, 0.1,
               "the program's callback removed once nobody watches")
    change_settings(h, {"return_video": "grid"})
    assert "guests see OBS's program" in h.log_text()


def test_callbacks_go_at_reload_and_at_exit_while_guests_listen_and_watch(tmp_path: Path) -> None:
    """Reload (the Scripts dialog's button) and closing OBS's window, each while libobs
    calls both taps: the callbacks are removed first and OBS goes on, then ends cleanly."""
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    harness = ObsHarness(tmp_path / "obs", {"start_recording": "manual", "studio_track": 6,
                                            "return_video": "program"},
                         extra_scripts=[RELOAD_HELPER])
    with harness as h:
        h.wait_for_server()
        with listening_and_watching(h, "Rhea", taps_before=0):
            h.ws.trigger_hotkey_by_name("guestrec_test_reload")
            wait_until(lambda: "[reload-helper] reload 1 of" in h.log_text(), 20, 0.1, "the reload")
        log = h.log_text()
        assert "reload 1 of" in log and "FAILED" not in log and h.alive()
        assert "no longer reading an OBS audio track" in log, "the track's callback outlived the unload"
        assert "no longer reading OBS's program" in log, "the program's callback outlived the unload"
        h.wait_for_server()
        with listening_and_watching(h, "Remy", taps_before=2):
            took = h.close_window(timeout=30)
        assert took < 30, "OBS did not close"
        assert h.proc.returncode == 0, f"OBS ended with {h.proc.returncode}"
        assert "OBS track tap: " in h.log_text() and "stopped (OBS is closing)" in h.log_text()


@contextmanager
def listening_and_watching(h: ObsHarness, name: str, taps_before: int):
    """A guest whose return makes libobs call both taps, for the time of the block (which
    ends the studio: the guest's leaving may find no server)."""
    guest = GuestThread(h.whip_url(name), h.token, tone_hz=GUEST_HZ, video=True, decode_video=False)
    try:
        guest.join()
        wait_until(lambda: taps_reading(h) >= taps_before + 2, 15, 0.1, f"both taps reading for {name}")
        yield guest
    finally:
        try:
            guest.close()
        except OSError:  # aiohttp's connection errors: the DELETE found the studio gone
            pass


def taps_reading(h: ObsHarness) -> int:
    log = h.log_text()
    return log.count("reading OBS's audio track 6 for the guests") + log.count("reading OBS's program for")
