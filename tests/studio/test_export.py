"""Export of a session the studio really recorded: two aiortc guests joining 3.4 s apart,
each beeping (at its own pitch) and flashing white on every whole second of wall time.

The export must put every guest's sound and picture where it happened: the stems' beeps
on the same samples as each other (within 20 ms) and on the session's whole seconds, and
every timeline, read back through OpenTimelineIO's own adapters, with each file at its
measured place (within a frame), its flashes on the whole seconds. A Kdenlive project
rendered by `melt` has both guests' beeps where the stems have them.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import time
import wave
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest

from guestrec.export import ExportError, export_session
from guestrec.media.sidecar import parse_time
from support.beeps import mono_samples, tone_onsets
from support.guest_server import running_server
from support.synthetic import BeepAudioTrack, FlashVideoTrack, SharedClock
from support.timeline_check import clip_starts
from support.whip_client import WhipClient

FPS = 30
FRAME = 1 / FPS
PITCH = {"Ann": 1000.0, "Bob": 1500.0}


def wall_second_tracks(frequency: float) -> list:
    """Picture and sound that flash and beep on every whole second of wall time."""
    clock = SharedClock()
    clock.start = math.ceil(time.time())
    return [FlashVideoTrack(1.0, 0.0, 320, 240, FPS, clock),
            BeepAudioTrack(1.0, 0.0, 0.1, clock, frequency=frequency)]


def record(out: Path) -> tuple[Path, str, list[str]]:
    """Record the session; returns its folder, what an export said while it recorded and
    what that export left in the folder."""
    async def scenario() -> tuple[str, list[str]]:
        async with running_server(out, record=2000) as server:
            ann = WhipClient(server.whip_url("Ann"), server.token, wall_second_tracks(PITCH["Ann"]))
            async with ann:
                await ann.publish()
                await ann.wait_connected()
                await asyncio.sleep(3.4)
                async with WhipClient(server.whip_url("Bob"), server.token,
                                      wall_second_tracks(PITCH["Bob"])) as bob:
                    await bob.publish()
                    await bob.wait_connected()
                    await asyncio.sleep(2.0)
                    folder = next(out.glob("Session *"))
                    before = {p.name for p in folder.iterdir()}
                    try:
                        export_session(folder)
                        refused = ""
                    except ExportError as exc:
                        refused = str(exc)
                    left = sorted({p.name for p in folder.iterdir()} - before)
                    await asyncio.sleep(4.0)
                await asyncio.sleep(1.0)
        return refused, left

    refused, left = asyncio.run(asyncio.wait_for(scenario(), 90))
    return next(out.glob("Session *")), refused, left


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("export")
    folder, refused, left = record(out / "recordings")
    result = export_session(folder)
    manifest = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    return {"folder": folder, "refused": refused, "left": left, "result": result, "manifest": manifest,
            "started": parse_time(manifest["started"]).timestamp()}


def _true_places(session: dict) -> dict[str, float]:
    """File name -> session seconds of its time 0, from the recordings' own sidecars."""
    started = parse_time(session["manifest"]["started"])
    places = {}
    for entry in session["manifest"]["files"]:
        side = json.loads((session["folder"] / entry["sidecar"]).read_text(encoding="utf-8"))
        places[entry["file"]] = (datetime.fromisoformat(side["media_start_utc"]) - started).total_seconds()
    return places


def _off_whole_second(session_seconds: float, started: float) -> float:
    """How far a session time is from the nearest whole second of wall time."""
    wall = started + session_seconds
    return wall - round(wall)


def test_export_is_refused_while_the_session_records(session: dict) -> None:
    assert "still recording" in session["refused"]
    assert "Ann" in session["refused"] and "Bob" in session["refused"]
    assert session["left"] == []  # nothing half-written


def test_the_manifest_carries_the_media_start(session: dict) -> None:
    files = session["manifest"]["files"]
    assert [f["guest"] for f in files] == ["Ann", "Bob"]
    for entry in files:
        # The file was opened after its first media arrived (frames held while the
        # guest's timeline settled): the media's own start is earlier.
        assert entry["media_start_seconds"] < entry["start_seconds"]
    ann, bob = files
    # Bob joined 3.4 s after Ann connected; each sends from the next whole second on.
    assert 2.4 < bob["media_start_seconds"] - ann["media_start_seconds"] < 6.0


def test_stems_are_equal_in_length_and_their_beeps_line_up(session: dict) -> None:
    stems = session["result"].folder / "stems"
    lengths = {}
    for name in ("Ann.wav", "Bob.wav"):
        with wave.open(str(stems / name)) as w:
            assert (w.getframerate(), w.getsampwidth()) == (48_000, 3)
            lengths[name] = w.getnframes()
    assert len(set(lengths.values())) == 1
    onsets = {}
    for guest in ("Ann", "Bob"):
        rate, samples = mono_samples(stems / f"{guest}.wav")
        # The first beep may be cut by the start of the file.
        onsets[guest] = tone_onsets(samples, rate, PITCH[guest])[1:]
        assert len(onsets[guest]) >= 4
        for t in onsets[guest]:
            assert abs(_off_whole_second(t, session["started"])) < FRAME, (guest, t)
    both = [(a, b) for a in onsets["Ann"] for b in onsets["Bob"] if abs(a - b) < 0.5]
    assert len(both) >= 3
    assert max(abs(a - b) for a, b in both) <= 0.020, both
    print("stem beeps: Ann - Bob ms:", [round((a - b) * 1000, 1) for a, b in both])


def test_the_timeline_places_every_file_within_half_a_frame(session: dict) -> None:
    starts = clip_starts(session["result"].folder / "session.otio", FPS)
    places = _true_places(session)
    assert {(kind, file.split()[0]) for kind, file in starts} == {
        ("video", "Ann"), ("audio", "Ann"), ("video", "Bob"), ("audio", "Bob")}
    for (kind, file), found in starts.items():
        assert len(found) == 1, (kind, file, found)
        assert abs(found[0] - places[file]) <= FRAME / 2 + 0.001, (kind, file, found, places[file])


@pytest.mark.parametrize("name", ["session.xml", "session.fcpxml", "session.edl"])
def test_every_format_reads_back_as_the_timeline(session: dict, name: str) -> None:
    """FCP 7 XML and the EDL give the same frames; the FCPXML adapter's reader truncates
    a time like 41/10 s to frames through a float (122.999... -> 122), so it may read a
    clip one frame early, never later."""
    folder = session["result"].folder
    reference = clip_starts(folder / "session.otio", FPS)
    starts = clip_starts(folder / name, FPS)
    if name == "session.edl":  # the first guest's picture and every guest's sound
        reference = {key: value for key, value in reference.items()
                     if key[0] == "audio" or key[1].startswith("Ann")}
    assert set(starts) == set(reference)
    for key, found in starts.items():
        (expected,) = reference[key]
        (got,) = found
        early = (expected - got) * FPS  # in frames
        # The FCPXML reader's float truncation loses up to one frame, never more, never late.
        allowed = 1.0 if name == "session.fcpxml" else 0.0
        assert -1e-6 <= early <= allowed + 1e-6, (name, key, got, expected)


def test_the_flashes_fall_on_whole_seconds_on_the_timeline(session: dict) -> None:
    starts = clip_starts(session["result"].folder / "session.otio", FPS)
    for (kind, file), (start,) in starts.items():
        if kind != "video":
            continue
        flashes = []
        with av.open(str(session["folder"] / file)) as container:
            for frame in container.decode(video=0):
                if frame.to_ndarray(format="gray").mean() > 128:
                    flashes.append(float(frame.time))
        assert len(flashes) >= 4, file
        misses = [_off_whole_second(start + t, session["started"]) for t in flashes[1:]]
        print(file, "flash off whole seconds (ms):", [round(m * 1000, 1) for m in misses])
        assert max(abs(m) for m in misses) <= 1.5 * FRAME, misses


def test_readme_names_the_files_and_the_editors(session: dict) -> None:
    text = (session["result"].folder / "README.txt").read_text(encoding="utf-8")
    for needle in ("session.otio", "session.fcpxml", "session.xml", "session.kdenlive", "session.edl",
                   "stems/", "Premiere", "Final Cut Pro", "Kdenlive", "Resolve", "Audacity",
                   "first frame's arrival", "stems/Ann.wav", "stems/Bob.wav"):
        assert needle in text, needle
    for entry in session["manifest"]["files"]:
        assert entry["file"] in text


@pytest.mark.skipif(shutil.which("melt") is None, reason="needs Debian's melt (install/test.sh installs it)")
def test_kdenlive_project_renders_every_guest_where_the_stems_have(session: dict, tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    run = subprocess.run(["melt", str(session["result"].folder / "session.kdenlive"),
                          "-consumer", f"avformat:{out}"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and out.exists(), run.stderr[-2000:]
    rate, mix = mono_samples(out)
    stems = session["result"].folder / "stems"
    for guest in ("Ann", "Bob"):
        heard = tone_onsets(mix, rate, PITCH[guest])[1:]
        stem_rate, stem = mono_samples(stems / f"{guest}.wav")
        expected = tone_onsets(stem, stem_rate, PITCH[guest])[1:]
        assert len(heard) == len(expected) >= 4, (guest, heard, expected)
        offsets = [h - e for h, e in zip(heard, expected, strict=True)]
        print(guest, "render minus stem (ms):", [round(o * 1000, 1) for o in offsets])
        assert max(abs(o) for o in offsets) <= FRAME, offsets
    assert np.abs(mix).max() > 0.1
