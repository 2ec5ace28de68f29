"""Guests in a real OBS: each shows as its own source and gets its own recording.

One OBS (under Xvfb, our own config, the script loaded from the scene collection) serves
the tests of this module in order; aiortc guests join over WHIP with a flat colour and a
440 Hz tone; OBS is checked through obs-websocket, the files with ffprobe and PyAV.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.obs_harness import (
    BLUE_RGB,
    BLUE_YUV,
    GREEN_RGB,
    GREEN_YUV,
    RED_RGB,
    RED_YUV,
    BackgroundGuest,
    ObsHarness,
    close_to,
    decode_all,
    ffprobe,
    mean_rgb,
    obs_available,
    wait_until,
)

pytestmark = [pytest.mark.obs, pytest.mark.slow]
RELOAD_HELPER = Path(__file__).resolve().parent.parent / "support" / "obs_reload_helper.py"
GUEST_HOTKEYS = ("guestrec_guest_record_start", "guestrec_guest_record_stop", "guestrec_guest_hang_up")
# The waits below look at cheap things (a 64x36 screenshot, the guest list, the log file):
# polled often, each ends soon after its condition holds.
POLL_S = 0.1


@pytest.fixture(scope="module")
def obs_auto(tmp_path_factory):
    reason = obs_available()
    if reason:
        pytest.skip(reason)
    harness = ObsHarness(tmp_path_factory.mktemp("obs-guests"), {"start_recording": "join"},
                         extra_collections=["Spare"], extra_scripts=[RELOAD_HELPER])
    with harness:
        harness.wait_for_server()
        yield harness


def guest_files(h: ObsHarness, stem: str) -> list[Path]:
    return sorted(p for p in h.out_dir.glob(f"Session */{stem} *") if p.suffix in (".webm", ".mkv", ".mka"))


def shows_colour(h: ObsHarness, source: str, rgb) -> tuple[float, float, float] | None:
    seen = mean_rgb(h.screenshot_rgb(source))
    return seen if close_to(seen, rgb) else None


def recording(h: ObsHarness, guest: str) -> dict | None:
    status = h.guests().get(guest)
    return status if status and status["connected"] and status["recording"] else None


def has_recorded(h: ObsHarness, guest: str, path: Path, seconds: float) -> bool:
    """At least `seconds` of the guest's media written into `path`, and on disk (the writer
    flushes a cluster at least every second): the recording is well under way."""
    status = h.guests().get(guest) or {}
    return (status.get("file") == str(path) and status["recording_seconds"] >= seconds
            and path.stat().st_size >= status["file_bytes"] > 0)


def snapshot_after_round(h: ObsHarness, snapshots: list[tuple[int, list[str]]]) -> None:
    """The threads after a round, once those on their way out have gone. The first round,
    which the others are held against, waits 2 s for that; a later round waits until it has
    no more threads than the first (nothing piled up), or the same 2 s."""
    deadline = time.monotonic() + 2.0
    if not snapshots:
        time.sleep(2.0)
    while True:
        native, python = h.thread_snapshot()
        if not snapshots or time.monotonic() >= deadline or (
                native <= snapshots[0][0] and len(python) <= len(snapshots[0][1])):
            snapshots.append((native, python))
            return
        time.sleep(0.2)


def assert_plays(path: Path, min_seconds: float, video: bool = True) -> None:
    info = ffprobe(path)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == (["audio", "video"] if video else ["audio"]), kinds
    assert float(info["format"]["duration"]) >= min_seconds, info["format"]
    frames = decode_all(path)
    assert frames["audio"] > 0 and (frames["video"] > 0 or not video), frames


def test_two_guests_each_get_a_source_and_a_file(obs_auto: ObsHarness) -> None:
    h = obs_auto
    alice = BackgroundGuest(h.whip_url("Alice"), h.token, RED_YUV).join()
    try:
        wait_until(lambda: "Alice" in h.inputs_of_our_kind() or None, 15, what="Alice's source")
        wait_until(lambda: shows_colour(h, "Alice", RED_RGB), 20, POLL_S, "Alice's red picture")
        peak = h.meter_peak("Alice")
        assert 0.15 < peak < 0.5, f"Alice's tone peak {peak}"
        status = wait_until(lambda: recording(h, "Alice"), 20, POLL_S, "Alice's recording")
        alice_file = Path(status["file"])
        assert alice_file.parent.parent == h.out_dir.resolve()  # in the session folder
        # 2 s on disk; her 5 s checked at the end come with Bob's visit (3 s and more) below.
        wait_until(lambda: has_recorded(h, "Alice", alice_file, 2.0), 20, POLL_S, "Alice's file to grow")

        # A second guest joins and leaves while Alice stays.
        bob = BackgroundGuest(h.whip_url("Bob"), h.token, GREEN_YUV).join()
        try:
            wait_until(lambda: shows_colour(h, "Bob", GREEN_RGB), 20, POLL_S, "Bob's green picture")
            assert {"Alice", "Bob"} <= set(h.inputs_of_our_kind())
            bob_status = wait_until(lambda: recording(h, "Bob"), 20, POLL_S, "Bob's recording")
            time.sleep(3)
        finally:
            bob.leave()
        bob_file = Path(bob_status["file"])
        wait_until(lambda: "Bob" not in h.guests() or None, 15, POLL_S, "Bob to be gone")
        assert bob_file != alice_file
        assert_plays(bob_file, 2.0)
        assert "Bob" in h.inputs_of_our_kind()  # the source stays for next time
        # The session layer's own log lines reach the OBS log.
        lines = h.guestrec_log_lines()
        assert any("guestrec.ingest.whip.offers: guest 'Bob' joined" in line for line in lines), lines[-20:]
        assert any("guestrec.core.roster: guest 'Bob' leaves" in line for line in lines), lines[-20:]

        # Alice was not disturbed: still red, still recording into the same, growing file.
        assert shows_colour(h, "Alice", RED_RGB)
        size_before = alice_file.stat().st_size
        still = recording(h, "Alice")
        assert still and Path(still["file"]) == alice_file
        wait_until(lambda: alice_file.stat().st_size > size_before or None, 10, POLL_S,
                   "Alice's file to keep growing")
        assert guest_files(h, "Alice") == [alice_file]
    finally:
        alice.leave()
    wait_until(lambda: "Alice" not in h.guests() or None, 15, POLL_S, "Alice to be gone")
    assert_plays(alice_file, 5.0)
    assert "Alice" in h.inputs_of_our_kind()


def test_returning_guest_reuses_their_source(obs_auto: ObsHarness) -> None:
    h = obs_auto
    before = h.inputs_of_our_kind()
    carol = BackgroundGuest(h.whip_url("Carol"), h.token, BLUE_YUV).join()
    try:
        wait_until(lambda: shows_colour(h, "Carol", BLUE_RGB), 20, POLL_S, "Carol's picture")
    finally:
        carol.leave()
    carol = BackgroundGuest(h.whip_url("Carol"), h.token, RED_YUV).join()
    try:
        wait_until(lambda: shows_colour(h, "Carol", RED_RGB), 20, POLL_S, "Carol's new picture")
        names = h.inputs_of_our_kind()
        assert names.count("Carol") == 1
        assert len(names) == len(before) + 1
        items = [i["sourceName"] for i in h.ws.get_scene_item_list("Scene").scene_items]
        assert items.count("Carol") == 1  # added to the scene once, not per visit
    finally:
        carol.leave()


def test_guest_back_after_a_drop_feeds_the_same_source_and_take(obs_auto: ObsHarness) -> None:
    """A guest whose connection drops (no hang-up) and who comes back with its resume
    secret shows in the same OBS source, under the same name, recorded as part 2."""
    h = obs_auto
    before = h.inputs_of_our_kind()
    rex = BackgroundGuest(h.whip_url("Rex"), h.token, BLUE_YUV).join()
    secret = rex.client.resume_secret
    wait_until(lambda: shows_colour(h, "Rex", BLUE_RGB), 20, POLL_S, "Rex's picture")
    first = wait_until(lambda: recording(h, "Rex"), 20, POLL_S, "Rex's recording")
    time.sleep(1.5)
    rex.drop()
    wait_until(lambda: "Rex" not in h.guests() or None, 15, POLL_S, "the studio to see Rex gone")
    assert "Rex" in h.awaited()  # the control room shows him as reconnecting
    # OBS says he is awaited, not gone (the script's status polls once a second).
    wait_until(lambda: "guest 'Rex' dropped; waiting for it to reconnect" in h.log_text() or None,
               10, POLL_S, "the Script Log to say Rex is awaited")
    rex = BackgroundGuest(h.whip_url("Rex"), h.token, RED_YUV,
                          headers={"Guestrec-Resume": secret}).join()
    try:
        assert rex.client.given_name == "Rex"
        wait_until(lambda: shows_colour(h, "Rex", RED_RGB), 20, POLL_S, "Rex's picture after the drop")
        second = wait_until(lambda: recording(h, "Rex"), 20, POLL_S, "Rex's recording after the drop")
        assert second["file"] != first["file"] and second["take"]["part"] == 2
        assert second["take"]["id"] == first["take"]["id"]
        wait_until(lambda: "guest 'Rex' reconnected" in h.log_text() or None, 10, POLL_S, "Rex reconnected")
        names = h.inputs_of_our_kind()
        assert names.count("Rex") == 1 and len(names) == len(before) + 1
        time.sleep(1.5)
        # The operator hangs Rex up from his source's properties: his page is told.
        h.ws.press_input_properties_button("Rex", "hang_up")
        wait_until(lambda: any(m.get("type") == "ended" for m in rex.client.messages) or None,
                   10, 0.2, "Rex to be told the studio ended the session")
        wait_until(lambda: "Rex" not in h.guests() or None, 15, POLL_S, "Rex to be gone")
    finally:
        rex.leave()
    assert_plays(Path(first["file"]), 1.0)
    assert_plays(Path(second["file"]), 1.0)


def test_record_toggle_in_the_guest_source(obs_auto: ObsHarness) -> None:
    h = obs_auto
    dave = BackgroundGuest(h.whip_url("Dave"), h.token, GREEN_YUV).join()
    try:
        first = wait_until(lambda: recording(h, "Dave"), 20, POLL_S, "Dave's recording")
        time.sleep(2)
        # What the "Record this guest" checkbox in the source's properties does.
        h.ws.set_input_settings("Dave", {"record": False}, True)
        wait_until(lambda: not h.guests()["Dave"]["recording"] or None, 15, POLL_S, "recording to stop")
        assert_plays(Path(first["file"]), 1.0)
        h.ws.set_input_settings("Dave", {"record": True}, True)
        second = wait_until(lambda: recording(h, "Dave"), 15, POLL_S, "recording to start again")
        assert second["file"] != first["file"]
    finally:
        dave.leave()


def assert_each_source_has_its_hotkeys(h: ObsHarness) -> None:
    """Every guest source has each guest hotkey exactly once (none doubled by reloads)."""
    names = h.ws.get_hotkey_list().hotkeys
    sources = len(h.inputs_of_our_kind())
    assert sources and all(names.count(name) == sources for name in GUEST_HOTKEYS), \
        ({name: names.count(name) for name in GUEST_HOTKEYS}, sources)


def test_guest_hotkeys_record_and_hang_up(obs_auto: ObsHarness) -> None:
    """Each guest source has its own hotkeys (Settings > Hotkeys, under the source's name):
    start and stop that guest's recording, and hang up. obs-websocket's TriggerHotkeyByName
    presses the first registered source's, Alice's (her source was made first in this OBS);
    Bob, recording beside her, is not touched."""
    h = obs_auto
    alice = BackgroundGuest(h.whip_url("Alice"), h.token, RED_YUV).join()
    bob = BackgroundGuest(h.whip_url("Bob"), h.token, GREEN_YUV).join()
    try:
        first = wait_until(lambda: recording(h, "Alice"), 20, POLL_S, "Alice's recording")
        bob_status = wait_until(lambda: recording(h, "Bob"), 20, POLL_S, "Bob's recording")
        assert_each_source_has_its_hotkeys(h)
        time.sleep(2)
        h.ws.trigger_hotkey_by_name("guestrec_guest_record_stop")
        wait_until(lambda: not h.guests()["Alice"]["recording"] or None, 15, POLL_S, "Alice's stop")
        assert_plays(Path(first["file"]), 1.0)
        h.ws.trigger_hotkey_by_name("guestrec_guest_record_start")
        wait_until(lambda: (lambda s: s if s and s["file"] != first["file"] else None)(
            recording(h, "Alice")), 15, POLL_S, "Alice's second recording")
        h.ws.trigger_hotkey_by_name("guestrec_guest_hang_up")
        wait_until(lambda: "Alice" not in h.guests() or None, 15, POLL_S, "Alice hung up")
        assert any(m.get("type") == "hangup" for m in list(alice.client.messages))
        # Bob went on recording into his one file all along.
        assert recording(h, "Bob")["file"] == bob_status["file"]
        assert guest_files(h, "Bob").count(Path(bob_status["file"])) == 1
    finally:
        alice.drop()
        bob.leave()


def test_script_unload_and_load_leak_nothing(obs_auto: ObsHarness) -> None:
    """Leaving the scene collection unloads the script, coming back loads it again
    (the module stays imported, the source type stays registered). Each round a guest is
    connected and recording when the script goes; it must come back fully working."""
    h = obs_auto
    threads_after: list[tuple[int, list[str]]] = []
    for _round in range(3):
        guest = BackgroundGuest(h.whip_url("Eve"), h.token, BLUE_YUV).join()
        try:
            wait_until(lambda: shows_colour(h, "Eve", BLUE_RGB), 20, POLL_S, "Eve's picture")
            status = wait_until(lambda: recording(h, "Eve"), 20, POLL_S, "Eve's recording")
            path = Path(status["file"])
            # Twice the second the finalized file must play (assert_plays below).
            wait_until(lambda path=path: has_recorded(h, "Eve", path, 2.0), 20, POLL_S, "Eve's file to grow")
            h.ws.set_current_scene_collection("Spare")
            wait_until(lambda: h.ws.get_scene_collection_list().current_scene_collection_name == "Spare"
                       or None, 20, POLL_S, "the switch away")
            # Unloading stopped the engine: the recording is finalized.
            assert_plays(path, 1.0)
        finally:
            guest.drop()
        h.ws.set_current_scene_collection("GuestRecorder")
        wait_until(lambda: h.ws.get_scene_collection_list().current_scene_collection_name
                   == "GuestRecorder" or None, 20, POLL_S, "the switch back")
        h.wait_for_server()
        snapshot_after_round(h, threads_after)
        assert h.inputs_of_our_kind().count("Eve") == 1
        assert_each_source_has_its_hotkeys(h)  # the sources loaded with the collection have them too
    lines = h.guestrec_log_lines()
    assert sum("stopped (script unloaded)" in line for line in lines) >= 3
    # No more threads after the last round than after the first: nothing piles up.
    print(f"native threads and Python threads after each reload: {[(n, len(p)) for n, p in threads_after]}")
    h.assert_no_thread_pileup(threads_after)
    # And it still works after the rounds.
    guest = BackgroundGuest(h.whip_url("Eve"), h.token, GREEN_YUV).join()
    try:
        wait_until(lambda: shows_colour(h, "Eve", GREEN_RGB), 20, POLL_S, "Eve's picture after reloads")
    finally:
        guest.leave()


def test_reload_button_leaks_no_threads_or_sources(obs_auto: ObsHarness) -> None:
    """The Scripts dialog's Reload (obs_script_reload on the product script), four times,
    each time with a guest connected and recording."""
    h = obs_auto
    threads_after: list[tuple[int, list[str]]] = []
    for round_no in range(1, 5):
        guest = BackgroundGuest(h.whip_url("Kim"), h.token, RED_YUV).join()
        try:
            wait_until(lambda: shows_colour(h, "Kim", RED_RGB), 20, POLL_S, "Kim's picture")
            status = wait_until(lambda: recording(h, "Kim"), 20, POLL_S, "Kim's recording")
            path = Path(status["file"])
            # Twice the second the finalized file must play (assert_plays below).
            wait_until(lambda path=path: has_recorded(h, "Kim", path, 2.0), 20, POLL_S, "Kim's file to grow")
            h.ws.trigger_hotkey_by_name("guestrec_test_reload")
            wait_until(lambda round_no=round_no: any(f"[reload-helper] reload {round_no} of" in line
                                                     and line.endswith("ok")
                                   for line in h.log_text().splitlines()) or None,
                       20, 0.3, f"reload {round_no}")
            assert_plays(path, 1.0)  # the unload finalized the recording
        finally:
            guest.drop()
        h.wait_for_server()
        snapshot_after_round(h, threads_after)
        assert h.inputs_of_our_kind().count("Kim") == 1  # the source survived, not doubled
        assert_each_source_has_its_hotkeys(h)
    print(f"native threads and Python threads after each reload: {[(n, len(p)) for n, p in threads_after]}")
    h.assert_no_thread_pileup(threads_after)
    guest = BackgroundGuest(h.whip_url("Kim"), h.token, GREEN_YUV).join()
    try:
        wait_until(lambda: shows_colour(h, "Kim", GREEN_RGB), 20, POLL_S, "Kim's picture after reloads")
        assert recording(h, "Kim")
    finally:
        guest.leave()


def test_obs_quits_quickly_while_a_guest_records(obs_auto: ObsHarness) -> None:
    """Runs last: closes this module's OBS the way a user does."""
    h = obs_auto
    guest = BackgroundGuest(h.whip_url("Zoe"), h.token, RED_YUV).join()
    try:
        status = wait_until(lambda: recording(h, "Zoe"), 20, POLL_S, "Zoe's recording")
        path = Path(status["file"])
        # A second more than the finalized file must play (assert_plays below).
        wait_until(lambda: has_recorded(h, "Zoe", path, 3.0), 20, POLL_S, "Zoe's file to grow")
        took = h.close_window(timeout=30)
        print(f"OBS quit in {took:.2f} s with a guest connected and recording")
        assert took <= 10.0, f"OBS took {took:.1f} s to quit"
        assert h.proc.returncode == 0
        # Zoe's page was told before her connection closed: no waiting on a dead studio.
        assert any(m.get("type") == "ended" for m in guest.client.messages), guest.client.messages
    finally:
        guest.drop()
    assert_plays(path, 2.0)
    assert any("stopped (OBS is closing)" in line for line in h.guestrec_log_lines())
