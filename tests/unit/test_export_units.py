"""The pure parts of the export: where files go on the timeline (frames, trims, overlaps),
which file of a guest is used, placement from sidecars, the EDL's channels, the WAV writer."""

from __future__ import annotations

import json
import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import opentimelineio as otio

from guestrec.export import wav_writer
from guestrec.export.best_file import choose
from guestrec.export.edl import timecode, write_edl
from guestrec.export.layout import AUDIO, VIDEO, plan_layout
from guestrec.export.model import BROWSER, STUDIO, Lane, Probe, Session, SourceFile
from guestrec.export.placement import browser_place, studio_place
from guestrec.uploads.alignment import guest_file_start_utc, studio_start_epoch

STARTED = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)


def source(name: str, start: float, seconds: float, video: bool = True, origin: str = STUDIO,
           status: str = "complete", guest: str = "Ann", video_start: float | None = None) -> SourceFile:
    return SourceFile(
        path=Path(f"/recordings/{name}"), origin=origin, guest=guest, status=status,
        audio_start=start, video_start=start if video_start is None else video_start,
        placed_by="test", probe=Probe(seconds, video, True, channels=2))


def session_of(*lanes: Lane, rate: float = 30.0) -> Session:
    return Session(Path("/recordings"), "Session", STARTED, None, rate, list(lanes))


def test_layout_rounds_each_file_to_the_nearest_frame_and_keeps_the_tracks_apart() -> None:
    ann = Lane("Ann", [source("a1.webm", 0.51, 10.0), source("a2.webm", 12.016, 5.0)], "r")
    bob = Lane("Bob", [source("b.webm", 3.4, 8.0, video=False, guest="Bob")], "r")
    layout = plan_layout(session_of(ann, bob))
    assert [(t.name, t.kind) for t in layout.tracks] == [("Ann video", VIDEO), ("Ann", AUDIO), ("Bob", AUDIO)]
    ann_audio = layout.tracks[1].clips
    assert [(c.record_in, c.source_in, c.length) for c in ann_audio] == [(15, 0, 300), (360, 0, 150)]
    assert [(c.record_in, c.length) for c in layout.tracks[2].clips] == [(102, 240)]
    for clip in (*ann_audio, *layout.tracks[2].clips):
        assert abs(clip.record_in / 30 - clip.place) <= 1 / 60
    assert layout.length == 510


def test_a_file_before_the_session_is_trimmed_and_an_overlap_cuts_the_earlier_file() -> None:
    lane = Lane("Ann", [source("a1.webm", -0.5, 10.0), source("a2.webm", 9.0, 3.0)], "r")
    (video, audio) = plan_layout(session_of(lane)).tracks
    first, second = audio.clips
    assert (first.record_in, first.source_in) == (0, 15)  # half a second cut off its head
    assert first.record_out == second.record_in == 270  # cut where the next file begins
    assert (second.source_in, second.length) == (0, 90)
    assert [c.record_in for c in video.clips] == [0, 270]


def test_picture_and_sound_of_a_browser_file_are_placed_apart() -> None:
    lane = Lane("Ann", [source("a.guest.webm", 2.0, 5.0, origin=BROWSER, video_start=2.1)], "r")
    video, audio = plan_layout(session_of(lane)).tracks
    assert (video.clips[0].record_in, audio.clips[0].record_in) == (63, 60)


def test_the_browser_file_wins_only_when_complete_and_placed() -> None:
    studio = [source("a.webm", 1.0, 10.0)]
    done = source("a.guest.webm", 1.02, 10.0, origin=BROWSER)
    cut = source("a.guest.webm", 1.02, 4.0, origin=BROWSER, status="incomplete")
    cut.sidecar = {"reason": "the page was closed"}
    assert choose(studio, [done]).files == [done]
    assert "complete" in choose(studio, [done]).reason
    fallback = choose(studio, [cut])
    assert fallback.files == studio and "the page was closed" in fallback.reason
    assert choose([], [cut]).files == [cut]
    unplaced = choose(studio, [], ["a.guest.webm"])
    assert unplaced.files == studio and "could not be placed" in unplaced.reason
    assert choose(studio, []).files == studio


def test_studio_files_are_placed_by_their_media_and_else_by_when_they_opened() -> None:
    side = {"start_utc": (STARTED + timedelta(seconds=2.3)).isoformat(),
            "media_start_utc": (STARTED + timedelta(seconds=1.1)).isoformat()}
    place = studio_place(side, STARTED)
    assert place is not None and (place.audio, place.exact) == (1.1, True)
    old = studio_place({"start_utc": side["start_utc"]}, STARTED)
    assert old is not None and (round(old.audio, 3), old.exact) == (2.3, False)
    assert studio_place({}, STARTED) is None


def test_browser_files_follow_the_studio_file_they_were_matched_with() -> None:
    side = {"studio_offset": {"studio_file": "a.webm", "seconds": -0.25, "video_seconds": -0.22,
                              "method": "audio cross-correlation"}}
    place = browser_place(side, STARTED, {"a.webm": 4.0})
    assert place is not None
    assert (place.audio, round(place.video, 6), place.exact) == (3.75, 3.78, True)
    clocks = {"page_times": {"recorder_started_ms": (STARTED.timestamp() + 5.0) * 1000,
                             "page_minus_studio_ms": 500.0}}
    rough = browser_place(clocks, STARTED, {})
    assert rough is not None and (round(rough.audio, 3), rough.exact) == (4.5, False)
    assert browser_place({"studio_offset": {"method": None}}, STARTED, {}) is None


def test_edl_has_the_first_guests_picture_on_v_and_a_sound_channel_per_guest(tmp_path: Path) -> None:
    lanes = [Lane(name, [source(f"{name}.webm", start, 6.0, guest=name)], "r")
             for name, start in (("Ann", 0.5), ("Bob", 2.0), ("Cy", 3.0))]
    text = write_edl(plan_layout(session_of(*lanes)), "Show")
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    assert [(e[2], e[6]) for e in events] == [
        ("V", "00:00:00:15"), ("A", "00:00:00:15"), ("A2", "00:00:02:00"), ("A3", "00:00:03:00")]
    path = tmp_path / "show.edl"
    path.write_text(text)
    back = otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=30)
    assert [t.name for t in back.tracks] == ["V", "A1", "A2", "A3"]
    assert timecode(30 * 3600 + 29, 30) == "01:00:00:29"


def test_wav_writer_writes_24_bit_and_becomes_rf64_past_the_limit(tmp_path: Path, monkeypatch) -> None:
    tone = np.sin(np.linspace(0, 100, 4800, dtype=np.float32)) * 0.5
    writer = wav_writer.WavWriter(tmp_path / "a.wav", 48_000, 2)
    writer.silence(100)
    writer.write(np.stack([tone, -tone]))
    writer.close()
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getnframes()) == (2, 3, 4900)
        raw = np.frombuffer(w.readframes(4900), np.uint8).reshape(-1, 3)
    ints = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16)
    ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints).reshape(-1, 2)
    assert np.all(ints[:100] == 0)
    assert np.max(np.abs(ints[100:, 0] / 2**23 - tone)) < 1e-6
    assert np.all(ints[100:, 0] == -ints[100:, 1])

    monkeypatch.setattr(wav_writer, "_LIMIT", 1000)
    writer = wav_writer.WavWriter(tmp_path / "big.wav", 48_000, 1)
    writer.silence(1000)
    writer.close()
    data = (tmp_path / "big.wav").read_bytes()
    assert data[:4] == b"RF64" and data[12:16] == b"ds64"
    riff, size, frames = struct.unpack("<QQQ", data[20:44])
    assert (riff, size, frames) == (len(data) - 8, 3000, 1000)


def test_a_browser_files_start_follows_from_the_studio_files_media_start(tmp_path: Path) -> None:
    studio = tmp_path / "Ann 2026-01-01 10-00-00.webm"
    media_start = STARTED + timedelta(seconds=2.5)
    studio.with_suffix(".json").write_text(json.dumps({"media_start_utc": media_start.isoformat(),
                                                       "start_utc": STARTED.isoformat()}))
    start = guest_file_start_utc(studio, {"seconds": -0.25, "method": "audio cross-correlation"})
    assert start is not None and datetime.fromisoformat(start) == STARTED + timedelta(seconds=2.25)
    assert guest_file_start_utc(studio, {"method": None}) is None
    assert guest_file_start_utc(None, {"seconds": 1.0}) is None
    # The coarse guess of the alignment starts from the media start too.
    assert studio_start_epoch(studio) == media_start.timestamp()
