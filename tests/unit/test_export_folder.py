"""Exporting a session folder (made quickly from pre-encoded packets, with the manifest and
sidecars the studio writes): every format written and read back, stems aligned to the
sample, the browser's file preferred when complete, proxies, refusals and replacement."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import pytest

from guestrec.export import ExportError, export_session
from support.beeps import mono_samples, tone_onsets
from support.synthetic_session import GuestSpec, make_session
from support.timeline_check import clip_starts

ROOT = Path(__file__).resolve().parents[2]
GUESTS = [GuestSpec("Ann", 0.5, 12), GuestSpec("Bob", 3.9, 8, video=False), GuestSpec("Ann", 14.0, 4, part=2)]


def _off_beat(onsets: list[float], phase: float = 0.0) -> float:
    """The largest distance of an onset from `phase` past a whole second."""
    return max(min((t - phase) % 1.0, 1.0 - (t - phase) % 1.0) for t in onsets)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    folder = make_session(tmp_path_factory.mktemp("session"), GUESTS)
    return folder, export_session(folder)


def test_every_format_is_written_with_a_readme(exported) -> None:
    folder, result = exported
    assert result.folder == folder / "export"
    names = {p.relative_to(result.folder).as_posix() for p in result.written}
    assert names == {"README.txt", "session.otio", "session.fcpxml", "session.xml", "session.kdenlive",
                     "session.edl", "stems/Ann.wav", "stems/Bob.wav"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".export")]


def test_stems_are_one_length_and_beep_on_the_sessions_whole_seconds(exported) -> None:
    _, result = exported
    lengths = set()
    for name, beeps in (("Ann", 16), ("Bob", 8)):
        path = result.folder / "stems" / f"{name}.wav"
        with wave.open(str(path)) as w:
            lengths.add(w.getnframes())
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (48_000, 3, 2)
        rate, samples = mono_samples(path)
        onsets = tone_onsets(samples, rate, 1000.0)
        assert len(onsets) == beeps
        assert _off_beat(onsets) < 0.010, onsets
    (length,) = lengths  # one length, to the end of the last file (Ann's second, 14 s + 4 s)
    assert abs(length / 48_000 - 18.0) < 0.05


@pytest.mark.parametrize("name", ["session.otio", "session.xml", "session.fcpxml", "session.edl"])
def test_timelines_read_back_with_every_file_at_its_place(exported, name: str) -> None:
    _, result = exported
    starts = clip_starts(result.folder / name)
    stamp = "2026-01-01 10-00-00"
    expected = {("audio", f"Ann {stamp}.webm"): [0.5], ("audio", f"Ann {stamp} (2).webm"): [14.0],
                ("audio", f"Bob {stamp}.webm"): [3.9], ("video", f"Ann {stamp}.webm"): [0.5],
                ("video", f"Ann {stamp} (2).webm"): [14.0]}
    assert set(starts) == set(expected)
    for key, found in starts.items():
        # The FCPXML adapter's reader may truncate a time to the frame before (see its test).
        assert expected[key][0] - 1 / 30 - 1e-6 <= found[0] <= expected[key][0] + 1e-6, (key, found)


def test_kdenlive_project_mixes_every_track(exported) -> None:
    _, result = exported
    root = ET.parse(result.folder / "session.kdenlive").getroot()
    main = root.find("tractor[@id='maintractor']")
    assert main is not None
    tracks = main.findall("track")
    mixes = [t for t in main.findall("transition")
             if t.find("property[@name='mlt_service']").text == "mix"]
    assert len(tracks) == 4 and len(mixes) == 3  # black + Ann's sound, Bob's sound, Ann's picture
    assert {m.find("property[@name='b_track']").text for m in mixes} == {"1", "2", "3"}
    resources = {p.text for p in root.iter("property") if p.get("name") == "resource"}
    assert {Path(r).name for r in resources if r != "black"} == {
        "Ann 2026-01-01 10-00-00.webm", "Ann 2026-01-01 10-00-00 (2).webm", "Bob 2026-01-01 10-00-00.webm"}


def test_readme_says_what_each_guest_uses_and_where(exported) -> None:
    _, result = exported
    text = (result.folder / "README.txt").read_text(encoding="utf-8")
    assert "Final Cut Pro" in text and "Premiere" in text and "--proxies" in text
    assert "sound at 3.900 s (00:00:03:27)" in text
    assert "recorded at the studio" in text


def test_the_browsers_file_is_used_when_complete(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 1.0, 10),
                                     GuestSpec("Ann", 1.25, 9, recorded_at="guest")])
    result = export_session(folder, ["otio", "stems"])
    (lane,) = result.session.lanes
    assert [f.path.name for f in lane.files] == ["Ann 2026-01-01 10-00-00.guest.webm"]
    assert "browser" in lane.reason
    starts = clip_starts(result.folder / "session.otio")
    assert starts[("audio", "Ann 2026-01-01 10-00-00.guest.webm")] == [1.2667]  # 37.5 frames, rounded to even
    rate, samples = mono_samples(result.folder / "stems" / "Ann.wav")
    onsets = tone_onsets(samples, rate, 1000.0)
    assert len(onsets) == 9 and _off_beat(onsets) < 0.010
    assert "Ann 2026-01-01 10-00-00.webm: not used" in (result.folder / "README.txt").read_text()


def test_an_incomplete_browser_file_gives_way_to_the_studios(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 1.0, 6),
                                     GuestSpec("Ann", 1.25, 3, recorded_at="guest", status="incomplete")])
    result = export_session(folder, ["edl"])
    (lane,) = result.session.lanes
    assert [f.path.name for f in lane.files] == ["Ann 2026-01-01 10-00-00.webm"]
    assert "not complete" in lane.reason


def test_a_session_still_recording_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3)], ended=False)
    side = folder / "Ann 2026-01-01 10-00-00.json"
    side.write_text(json.dumps({**json.loads(side.read_text()), "status": "recording"}))
    with pytest.raises(ExportError, match=r"still recording \(Ann 2026-01-01 10-00-00.webm\)"):
        export_session(folder)
    assert sorted(p.name for p in folder.iterdir() if not p.suffix) == []


def test_a_missing_file_is_named_and_can_be_left_out(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3), GuestSpec("Bob", 1.0, 3, video=False)])
    (folder / "Bob 2026-01-01 10-00-00.webm").unlink()
    with pytest.raises(ExportError, match=r"missing file of the session: Bob 2026-01-01 10-00-00\.webm"):
        export_session(folder)
    assert not (folder / "export").exists()
    result = export_session(folder, ["otio", "stems"], skip_missing=True)
    assert [lane.name for lane in result.session.lanes] == ["Ann"]
    assert "Bob 2026-01-01 10-00-00.webm: missing, left out" in (result.folder / "README.txt").read_text()


def test_exporting_again_replaces_the_old_export_whole(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3)])
    first = export_session(folder, ["otio", "edl"])
    (first.folder / "stale.txt").write_text("from before")
    second = export_session(folder, ["kdenlive"])
    assert second.folder == first.folder
    assert sorted(p.name for p in second.folder.iterdir()) == [
        ".guestrec-export", "README.txt", "session.kdenlive"]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["export"]


def test_a_folder_that_is_not_an_export_is_never_replaced(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3)])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="already holds other files"):
        export_session(folder, ["edl"], out=mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_proxies_keep_the_timing_and_the_xml_timelines_use_them(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 4), GuestSpec("Bob", 1.0, 3, video=False)])
    lines: list[str] = []
    result = export_session(folder, ["otio", "xml", "fcpxml", "edl"], proxies=True, progress=lines.append)
    assert any(line.endswith("100%") for line in lines)
    proxies = result.folder / "proxies"
    original = folder / "Ann 2026-01-01 10-00-00.webm"
    proxy = proxies / "Ann 2026-01-01 10-00-00.mov"
    with av.open(str(proxy)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "pcm_s24le"
        assert abs(container.duration / 1e6 - 4.0) < 0.05
        flashes = [float(f.time) for f in container.decode(video=0)
                   if f.to_ndarray(format="gray").mean() > 128]
    assert len(flashes) == 4 and _off_beat(flashes, 0.5) < 1 / 30 + 1e-6
    for path in (original, proxy):
        rate, samples = mono_samples(path)
        onsets = tone_onsets(samples, rate, 1000.0)
        assert len(onsets) == 4 and _off_beat(onsets, 0.5) < 0.010, (path, onsets)
    xml_starts = clip_starts(result.folder / "session.xml")
    assert xml_starts[("audio", "Ann 2026-01-01 10-00-00.mov")] == [0.5]
    assert xml_starts[("audio", "Bob 2026-01-01 10-00-00.mov")] == [1.0]
    assert ("audio", "Ann 2026-01-01 10-00-00.webm") in clip_starts(result.folder / "session.otio")
    assert "Ann 2026-01-01 10-00-00.mov" in (result.folder / "session.edl").read_text()
    again: list[str] = []
    export_session(folder, ["xml"], proxies=True, progress=again.append)
    assert sum("unchanged, kept" in line for line in again) == 2


def test_the_command_line_exports_and_says_why_it_cannot(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3)])
    env = {"PYTHONPATH": str(ROOT / "lib")}
    ok = subprocess.run([sys.executable, "-m", "guestrec", "export", str(folder), "--to", "edl,stems"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Exported to" in ok.stdout and (folder / "export" / "session.edl").exists()
    bad = subprocess.run([sys.executable, "-m", "guestrec", "export", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "has no session.json" in bad.stderr
    wrong = subprocess.run([sys.executable, "-m", "guestrec", "export", str(folder), "--to", "avid"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert wrong.returncode == 2 and "unknown export format avid" in wrong.stderr


def test_obs_recording_gets_its_own_tracks_and_stem(tmp_path: Path) -> None:
    obs = GuestSpec("OBS", 0.25, 8)
    guests = [GuestSpec("Ann", 0.5, 6), GuestSpec("OBS", 1.0, 5, video=False)]  # a guest called OBS
    folder = make_session(tmp_path, guests, obs=obs)
    result = export_session(folder)
    assert [lane.name for lane in result.session.lanes] == ["Ann", "OBS", "OBS recording"]
    assert [lane.stem_name for lane in result.session.lanes] == ["Ann.wav", "OBS.wav", "OBS_recording.wav"]
    assert result.session.lanes[-1].is_obs
    starts = clip_starts(result.folder / "session.otio")
    obs_name = "OBS 2026-01-01 10-00-00.mkv"
    assert starts[("video", obs_name)] == starts[("audio", obs_name)] == [0.2667]  # 7.5 frames: to even
    rate, samples = mono_samples(result.folder / "stems" / "OBS_recording.wav")
    onsets = tone_onsets(samples, rate, 1000.0)
    assert len(onsets) == 8 and _off_beat(onsets) < 0.010
    text = (result.folder / "README.txt").read_text()
    assert "OBS's recording-started event" in text and "placed only approximately" in text
    edl = (result.folder / "session.edl").read_text()
    assert " A3 " in edl and obs_name in edl  # Ann, the guest called OBS, then OBS's recording

    Path(tmp_path / obs_name).unlink()
    with pytest.raises(ExportError, match=re.escape(str(tmp_path / obs_name))):
        export_session(folder)


def test_a_guest_name_is_made_safe_for_its_stem(tmp_path: Path) -> None:
    folder = make_session(tmp_path, [GuestSpec("Ann", 0.5, 3)])
    side_path = folder / "Ann 2026-01-01 10-00-00.json"
    side_path.write_text(json.dumps({**json.loads(side_path.read_text()), "guest": "../CON: Ann/é"}))
    result = export_session(folder, ["stems", "edl"])
    (stem,) = (result.folder / "stems").iterdir()
    assert stem.name == "CON_Ann_é.wav"
    assert "../CON: Ann/é" in (result.folder / "README.txt").read_text()


def test_a_session_without_pictures_exports_sound_tracks_only(tmp_path: Path) -> None:
    guests = [GuestSpec("Ann", 0.5, 5, video=False), GuestSpec("Bob", 2.0, 5, video=False)]
    result = export_session(make_session(tmp_path, guests), ["otio", "xml", "fcpxml", "edl"])
    expected = {("audio", "Ann 2026-01-01 10-00-00.webm"): [0.5],
                ("audio", "Bob 2026-01-01 10-00-00.webm"): [2.0]}
    for name in ("session.otio", "session.xml", "session.fcpxml", "session.edl"):
        # FCPXML hangs the sound on an empty picture track spanning the session.
        assert clip_starts(result.folder / name) == expected, name
