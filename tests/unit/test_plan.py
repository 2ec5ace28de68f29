"""The record plan follows the `&record` spec's tables, row by row."""

from __future__ import annotations

import pytest

from guestrec.common.plan import RecordSettingsError, make_plan, parse_record_value


@pytest.mark.parametrize(
    "record, video_kbps, inbound, written",
    [
        (None, 6000, 128, 128),  # unset: 6000 kbps default
        ("", 6000, 128, 128),
        (6000, 6000, 128, 128),
        (4000, 4000, 128, 128),
        (3999, 3999, 80, 128),
        (2500, 2500, 80, 128),
        (2499, 2499, 32, 32),
        (1, 1, 32, 32),
        ("+2000", 2000, 32, 32),
    ],
)
def test_video_rows_follow_threshold_table(record, video_kbps, inbound, written) -> None:
    plan = make_plan(record)
    assert plan.video and plan.mode == "video"
    assert plan.video_kbps == video_kbps
    assert plan.video_bps == video_kbps * 1000
    assert plan.inbound_audio_kbps == inbound
    assert plan.audio_kbps == written
    assert plan.audio_codec == "opus"
    assert plan.video_codec == "vp8"
    assert plan.container == "webm"


def test_zero_is_lossless_pcm_audio_only() -> None:
    plan = make_plan(0)
    assert not plan.video and plan.video_kbps is None and plan.video_codec is None
    assert plan.audio_codec == "pcm_f32le" and plan.audio_kbps is None
    assert plan.inbound_audio_kbps == 256
    assert plan.container == "mka"
    assert plan.mode == "audio-pcm"


@pytest.mark.parametrize("record, kbps", [(-120, 120), ("-120", 120), (-6, 6), (-510, 510)])
def test_negative_is_opus_only_at_that_bitrate(record, kbps) -> None:
    plan = make_plan(record)
    assert not plan.video
    assert plan.audio_codec == "opus" and plan.audio_kbps == kbps
    assert plan.inbound_audio_kbps == kbps
    assert plan.container == "webm"
    assert plan.mode == "audio-opus"


@pytest.mark.parametrize("record", [-1, -5, -511, -100000])
def test_negative_outside_opus_range_is_refused(record) -> None:
    with pytest.raises(RecordSettingsError, match=r"6\.\.510 kbps"):
        make_plan(record)


@pytest.mark.parametrize("record", [None, 6000, 2499, 1])
def test_pcm_with_video_asks_256_inbound_whatever_the_bitrate(record) -> None:
    plan = make_plan(record, pcm=True)
    assert plan.video
    assert plan.inbound_audio_kbps == 256
    assert plan.audio_codec == "pcm_f32le" and plan.audio_kbps is None
    assert plan.container == "mkv"  # WebM refuses PCM


def test_pcm_with_audio_only_value_writes_pcm() -> None:
    plan = make_plan(-120, pcm=True)
    assert not plan.video and plan.audio_codec == "pcm_f32le" and plan.container == "mka"
    assert plan.inbound_audio_kbps == 256


@pytest.mark.parametrize(
    "codec, container", [("vp8", "webm"), ("vp9", "webm"), ("av1", "webm"), ("h264", "mkv"), ("H264", "mkv")]
)
def test_codec_picks_container(codec, container) -> None:
    plan = make_plan(3000, codec=codec)
    assert plan.video_codec == codec.lower()
    assert plan.container == container


def test_copy_mode_keeps_received_audio() -> None:
    plan = make_plan(6000, codec="copy")
    assert plan.copy and plan.video_codec == "copy"
    assert plan.audio_kbps is None  # Opus is copied as received
    assert plan.inbound_audio_kbps == 128


@pytest.mark.parametrize("garbage", ["abc", "6000kbps", "1.5", "--5", True, 3.5, [1]])
def test_garbage_record_value_is_a_clear_error(garbage) -> None:
    with pytest.raises(RecordSettingsError, match="integer"):
        make_plan(garbage)


def test_unknown_codec_is_a_clear_error() -> None:
    with pytest.raises(RecordSettingsError, match="record codec must be one of"):
        make_plan(6000, codec="hevc")


def test_absurd_video_bitrate_is_refused() -> None:
    with pytest.raises(RecordSettingsError, match="in kbps"):
        make_plan(6_000_000)


def test_parse_record_value() -> None:
    assert parse_record_value(" -120 ") == -120
    assert parse_record_value("0") == 0
    assert parse_record_value(None) is None
