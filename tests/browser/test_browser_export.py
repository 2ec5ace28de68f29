"""Export of a session where a real browser guest was recorded twice: by the studio and by
its own page (uploaded). The complete browser file is the one the export uses, and it lands
where the studio heard the guest: its stem's beeps on the studio file's beeps (within
20 ms), its clips on the timeline where the measured offsets put them (within a frame).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest

from guestrec.export import export_session
from guestrec.media.sidecar import parse_time
from support.beeps import mono_samples
from support.browser_take import recorded_take
from support.cdp import CHROMIUM
from support.fake_capture import capture_flags, flash_beep_capture
from support.media_probe import audio_samples, beep_times
from support.timeline_check import clip_starts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

FPS = 30
LOOP_S = 6.0
EVENTS_S = (0.4, 1.3, 2.9, 3.6, 5.1)  # irregular: no shift by a period also matches
BEEP_S = 0.1


def fake_capture(folder: Path) -> list[str]:
    """Chromium's fake camera and microphone: flashes and beeps at EVENTS_S, looped."""
    return capture_flags(*flash_beep_capture(folder, EVENTS_S, LOOP_S, BEEP_S, FPS))


def nearest_offsets(found: list[float], expected: list[float], within: float = 0.2) -> list[float]:
    pairs = []
    for t in found:
        near = min(expected, key=lambda e: abs(e - t), default=None)
        if near is not None and abs(near - t) <= within:
            pairs.append(t - near)
    return pairs


def test_the_browsers_file_is_exported_where_the_studio_heard_the_guest(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    flags = fake_capture(tmp_path)

    asyncio.run(asyncio.wait_for(recorded_take(out, tmp_path / "profile", "Ann", flags), 150))
    (folder,) = out.glob("Session *")
    manifest = json.loads((folder / "session.json").read_text())
    assert manifest["ended"], manifest
    result = export_session(folder, ["otio", "stems"])

    (lane,) = result.session.lanes
    (used,) = lane.files
    assert used.path.name.endswith(".guest.webm") and "complete" in lane.reason
    side = json.loads(used.path.with_suffix(".json").read_text())
    offset = side["studio_offset"]
    studio = folder / offset["studio_file"]
    studio_side = json.loads(studio.with_suffix(".json").read_text())
    started = parse_time(manifest["started"])
    studio_place = (datetime.fromisoformat(studio_side["media_start_utc"]) - started).total_seconds()
    (entry,) = [f for f in manifest["files"] if f["file"] == used.path.name]
    assert abs(entry["media_start_seconds"] - (studio_place + offset["seconds"])) < 0.002

    # The stem made from the browser's file beeps where the studio's file beeped.
    s_start, s_audio = audio_samples(studio)
    heard = [studio_place + t for t in beep_times(s_start, s_audio)]
    rate, stem = mono_samples(result.folder / "stems" / "Ann.wav")
    in_stem = beep_times(0.0, stem) if rate == 48_000 else []
    # A beep the browser's recorder began in the middle of is heard late by the detector:
    # only beeps that began after the browser file's sound did are compared.
    sound_from = used.audio_start + used.probe.first_time + BEEP_S
    misses = nearest_offsets([t for t in in_stem if t > sound_from], heard)
    print(f"offset {offset['seconds'] * 1000:.1f} ms ({offset['method']}), picture "
          f"{offset.get('video_seconds', 0) * 1000:.1f} ms; stem minus studio beeps (ms): "
          f"{[round(m * 1000, 1) for m in misses]}")
    assert len(misses) >= 5
    assert max(abs(m) for m in misses) <= 0.020, misses

    starts = clip_starts(result.folder / "session.otio", FPS)
    # A clip starts where the file's first media lands (editors count a file's time from its
    # first packet; a lip-sync shift at finalize can start the file a little after 0).
    first = used.probe.first_time
    audio_place = studio_place + offset["seconds"] + first
    video_place = studio_place + offset.get("video_seconds", offset["seconds"]) + first
    facts = (first, used.audio_start, used.video_start, side.get("av_shift_ms"), offset)
    assert abs(starts[("audio", used.path.name)][0] - audio_place) <= 1 / FPS, facts
    assert abs(starts[("video", used.path.name)][0] - video_place) <= 1 / FPS, facts
