"""Guest-side recordings finalized in lip sync, from WebM (Chromium) and fragmented MP4 (Safari).

Flash-and-beep files are made with PyAV: the studio's own file in sync, the guest's with its
sound stamped apart from its picture by a known amount, as a browser's recorder does. The
guest's file goes up in byte slices through the real upload routes and is finalized by the
real code; the finalized file's flashes and beeps are then measured from outside.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from guestrec.common.plan import make_plan
from guestrec.uploads.guest_plan import guest_recording
from guestrec.uploads.guest_uploads import GuestUploads
from support.flash_beep_file import jump_times, write_flash_beep
from support.media_probe import (
    audio_samples,
    beep_times,
    ffprobe_decode_errors,
    flash_times,
    pair_offsets,
    probe,
    streams_of,
    video_luma,
)
from support.upload_client import finish, put_in_slices, upload_server

STUDIO_START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
GUEST_LATER_S = 0.8  # the guest's recorder started this long after the studio's file
SLICE = 24_000  # bytes per upload request, about what a 1 s timeslice holds here


def matched(guest: list[float], studio: list[float]) -> list[float]:
    """studio - guest time of each guest event, matched to the studio event of the same
    instant (the events are irregular, so the nearest after the guest's start fits)."""
    return [min(studio, key=lambda s: abs(s - g - GUEST_LATER_S)) - g for g in guest]


def picture_times(path: Path, picture: str) -> list[float]:
    return jump_times(path) if picture == "moving" else flash_times(video_luma(path))


def sound_minus_picture(path: Path, picture: str) -> list[float]:
    """At each flash (or jump of the square): its beep's time minus its own."""
    return pair_offsets(picture_times(path, picture), beep_times(*audio_samples(path)))


def studio_file(folder: Path, picture: str = "flash") -> Path:
    """The studio's recording of the guest, in sync, with the sidecar that dates it."""
    path = write_flash_beep(folder / "Ann_1.webm", "webm", picture=picture)
    side = {"media_start_utc": STUDIO_START.isoformat(), "start_utc": STUDIO_START.isoformat()}
    path.with_suffix(".json").write_text(json.dumps(side), encoding="utf-8")
    return path


def upload(folder: Path, data: bytes, mime: str, sent: int | None = None,
           grace_s: float = 120.0):
    """Upload `data` (or its first `sent` bytes, then the guest leaves) and finalize."""
    uploads = GuestUploads(grace_s=grace_s)
    # The page's clock report is off by 150 ms; the audio match must fix that.
    report = {"mimeType": mime, "pageMinusStudioMs": 0.0,
              "recorderStartedMs": (STUDIO_START.timestamp() + GUEST_LATER_S + 0.15) * 1000}

    async def scenario():
        async with upload_server(uploads) as http:
            rec = uploads.create("Ann", guest_recording(make_plan(2000)), folder / "Ann_1")
            if sent is None:
                held = await put_in_slices(http, rec, data, SLICE)
                status, body = await finish(http, rec, held, **report)
                assert status == 200, body
            else:
                await put_in_slices(http, rec, data[:sent], SLICE)
                uploads.guest_left("Ann")
                for _ in range(100):
                    if rec.state not in ("receiving", "finalizing"):
                        break
                    await asyncio.sleep(0.1)
            return rec

    rec = asyncio.run(scenario())
    side = json.loads(rec.part.with_suffix(".json").read_text(encoding="utf-8"))
    return rec, side


@pytest.mark.parametrize(("kind", "mime", "sound_late_ms", "moved", "picture"), [
    ("webm", "video/webm;codecs=vp8,opus", 61, "video", "flash"),  # Chromium: sound stamped late
    ("fmp4", "video/mp4;codecs=avc1,mp4a.40.2", -45, "audio", "flash"),  # sound early
    # No brightness changes, only motion (a person moving): measured from the motion.
    ("webm", "video/webm;codecs=vp8,opus", 61, "video", "moving"),
])
def test_finalized_guest_file_has_sound_and_picture_within_20_ms(
        tmp_path: Path, kind: str, mime: str, sound_late_ms: int, moved: str, picture: str) -> None:
    studio = studio_file(tmp_path, picture)
    assert all(abs(skew) <= 0.002 for skew in sound_minus_picture(studio, picture))
    source = write_flash_beep(tmp_path / f"source.{kind}", kind, start_s=GUEST_LATER_S,
                              sound_late_s=sound_late_ms / 1000, picture=picture)
    before = sound_minus_picture(source, picture)
    assert all(abs(skew * 1000 - sound_late_ms) <= 2 for skew in before), before

    rec, side = upload(tmp_path, source.read_bytes(), mime)

    assert rec.state == "complete", rec.error
    final = rec.final
    assert final.name == ("Ann_1.guest.webm" if kind == "webm" else "Ann_1.guest.mp4")
    after = sound_minus_picture(final, picture)
    print(f"{kind}, {picture}: sound minus picture before {[round(s * 1000, 1) for s in before]} ms, "
          f"after {[round(s * 1000, 1) for s in after]} ms; sidecar {side['av_shift_ms']}")
    assert len(after) >= 7
    assert all(abs(skew) <= 0.020 for skew in after), after
    shift = side["av_shift_ms"]
    assert shift["moved"] == moved and abs(shift["by_ms"] - abs(sound_late_ms)) <= 10, shift
    assert abs(shift["measured_skew_ms"] - sound_late_ms) <= 10
    assert shift["sound_vs_picture"] == ("later" if sound_late_ms > 0 else "earlier")
    # Sound and picture both sit where the studio's file has them: each beep and flash of
    # the guest file is matched to the studio file's own.
    offset = side["studio_offset"]
    assert offset["method"] == "audio cross-correlation", offset
    by_beep = matched(beep_times(*audio_samples(final)), beep_times(*audio_samples(studio)))
    by_flash = matched(picture_times(final, picture), picture_times(studio, picture))
    assert len(by_beep) >= 7 and len(by_flash) >= 7
    assert abs(offset["seconds"] - float(np.median(by_beep))) <= 0.020, (offset, by_beep)
    assert abs(offset["video_seconds"] - float(np.median(by_flash))) <= 0.020, (offset, by_flash)
    assert abs(offset["guest_av_skew_ms"]) <= 5
    assert offset["video_method"] == ("motion" if picture == "moving" else "brightness changes")
    assert ffprobe_decode_errors(final) == ""


def test_safari_fragmented_mp4_becomes_a_plain_mp4_with_its_index_first(tmp_path: Path) -> None:
    source = write_flash_beep(tmp_path / "source.mp4", "fmp4")
    raw = source.read_bytes()
    assert raw.find(b"moof") > 0 and raw.find(b"mvex") > 0  # really fragmented, as Safari's

    rec, side = upload(tmp_path, raw, "video/mp4")

    final = tmp_path / "Ann_1.guest.mp4"
    assert rec.state == "complete" and rec.final == final and not rec.part.exists()
    info = probe(final)
    assert "mp4" in info["format"]["format_name"]
    assert streams_of(info, "video")[0]["codec_name"] == "h264"
    assert streams_of(info, "audio")[0]["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - 8.5) < 0.2
    written = final.read_bytes()
    assert b"moof" not in written and 0 < written.find(b"moov") < written.find(b"mdat")
    assert ffprobe_decode_errors(final) == ""
    assert side["container"] == "mp4" and side["codecs"] == {"video": "h264", "audio": "aac"}
    assert side["file"] == final.name and side["mime_type"] == "video/mp4"
    # No studio file of this guest: nothing to measure the lip sync against, and it says so.
    assert side["av_shift_ms"]["moved"] is None and "not measured" in side["av_shift_ms"]["note"]


def test_safari_upload_cut_in_the_middle_is_finalized_as_far_as_it_got(tmp_path: Path) -> None:
    studio_file(tmp_path)
    raw = write_flash_beep(tmp_path / "source.mp4", "fmp4", start_s=GUEST_LATER_S).read_bytes()
    cut = len(raw) * 3 // 5 + 777  # inside a fragment's media data

    rec, side = upload(tmp_path, raw, "video/mp4", sent=cut, grace_s=0.6)

    assert rec.state == "incomplete" and "guest left" in rec.reason
    assert side["complete"] is False and side["bytes_received"] == cut
    final = tmp_path / "Ann_1.guest.mp4"
    info = probe(final)
    assert streams_of(info, "video")[0]["codec_name"] == "h264"
    assert 3.0 < float(info["format"]["duration"]) < 6.5, info["format"]
    assert ffprobe_decode_errors(final) == ""
    # The page never said when its recorder started: no place on the studio's timeline.
    assert side["studio_offset"]["method"] is None, side["studio_offset"]
