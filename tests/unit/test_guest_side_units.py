"""What the guest's browser is asked to record, where guests are recorded, and the status line."""

from __future__ import annotations

from pathlib import Path

from guestrec.common.plan import make_plan
from guestrec.core.guest import GuestConfig
from guestrec.core.guest_side import record_at
from guestrec.obs_bridge.status import guest_status_text
from guestrec.uploads.alignment import coarse_offset
from guestrec.uploads.guest_plan import guest_recording
from guestrec.uploads.guest_upload import final_extension


def test_guest_recording_follows_the_plan() -> None:
    video = guest_recording(make_plan(6000))
    assert video.mime_types[0] == "video/webm;codecs=vp8,opus"
    assert video.mime_types[1] == "video/webm;codecs=h264,opus"  # cheapest fallback next
    # Safari without WebM recording: fragmented MP4, after every WebM type.
    assert video.mime_types[-2:] == ("video/mp4;codecs=avc1,mp4a.40.2", "video/mp4")
    assert (video.video_bps, video.audio_bps, video.pcm) == (6_000_000, 128_000, False)
    assert guest_recording(make_plan(3000)).audio_bps == 128_000  # recorded column, not inbound 80
    assert guest_recording(make_plan(2000)).audio_bps == 32_000
    assert guest_recording(make_plan(4000, codec="h264")).mime_types[0] == "video/webm;codecs=h264,opus"
    assert guest_recording(make_plan(4000, codec="copy")).mime_types[0] == "video/webm;codecs=vp8,opus"
    pcm_video = guest_recording(make_plan(2500, pcm=True))
    assert pcm_video.mime_types[0] == "video/webm;codecs=vp8,pcm" and pcm_video.audio_bps is None
    pcm = guest_recording(make_plan(0))
    assert pcm.mime_types[0] == "audio/webm;codecs=pcm" and not pcm.video and pcm.max_kbps == 3072
    assert pcm.mime_types[1:] == ("audio/mp4;codecs=mp4a.40.2", "audio/mp4")  # Safari: AAC
    opus = guest_recording(make_plan(-120))
    assert opus.mime_types[0] == "audio/webm;codecs=opus" and opus.audio_bps == 120_000
    assert opus.video_bps is None and opus.max_kbps == 120


def test_record_at_defaults_to_both_in_video_modes() -> None:
    def config(record, where=None):
        return GuestConfig(plan=make_plan(record), out_dir=Path("."), record_at=where)

    assert record_at(config(6000)) == "both"
    assert record_at(config(-64)) == "studio" and record_at(config(0)) == "studio"
    assert record_at(config(6000, "guest")) == "guest" and record_at(config(0, "both")) == "both"


def test_final_container_by_codecs() -> None:
    assert final_extension({"video": "vp8", "audio": "opus"}) == "webm"
    assert final_extension({"video": "h264", "audio": "opus"}) == "mkv"
    assert final_extension({"video": "vp8", "audio": "pcm_f32le"}) == "mkv"
    assert final_extension({"video": None, "audio": "pcm_f32le"}) == "mka"
    assert final_extension({"video": None, "audio": "opus"}) == "webm"


def test_status_line_shows_the_browser_recording_and_upload() -> None:
    status = {
        "connected": True, "recording": True, "recording_seconds": 83, "file_bytes": 12_400_000,
        "guest_recording": {"state": "receiving", "wanted": True, "page": {"state": "recording"},
                            "recorded_bytes": 42_000_000, "uploaded_percent": 98.2},
    }
    text = guest_status_text(status)
    assert "in the browser: recording, 42.0 MB, 98% uploaded" in text, text
    status["guest_recording"].update(state="complete", uploaded_percent=100.0)
    assert "in the browser: complete" in guest_status_text(status)


def test_coarse_offset_from_clocks() -> None:
    # The page's clock is 2 s ahead; its recorder started at studio time 1000.5 s, the
    # studio file at 1000.0 s: the guest file starts 0.5 s into the studio's.
    assert coarse_offset(1_002_500.0, 2_000.0, 1000.0) == 0.5
    assert coarse_offset(None, 2_000.0, 1000.0) is None
