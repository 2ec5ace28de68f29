"""Pieces of the media pipeline on their own: bitstream parsing (on real encoder output),
the A/V timeline, the audio sample line."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from guestrec.media import audioline
from guestrec.media.bitstream import (
    H264ParameterSets,
    h264_is_keyframe,
    h264_nal_types,
    h264_sps_size,
    opus_packet_samples,
    vp8_frame_size,
    vp8_is_keyframe,
)
from guestrec.media.timeline import HOLD_SECONDS, Timeline

TB = fractions.Fraction(1, 90_000)


def encode_frames(codec: str, width: int, height: int, count: int, **options) -> list[bytes]:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "yuv420p", TB
    ctx.framerate = 30
    ctx.options = {k.replace("_", "-"): v for k, v in options.items()}
    rng = np.random.default_rng(3)
    packets = []
    for i in range(count):
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = i * 3000, TB
        packets += [bytes(p) for p in ctx.encode(frame)]
    packets += [bytes(p) for p in ctx.encode(None)]
    return packets


def test_vp8_keyframe_and_size_from_libvpx() -> None:
    packets = encode_frames("libvpx", 322, 242, 3, deadline="realtime", lag_in_frames="0")
    assert vp8_is_keyframe(packets[0]) and vp8_frame_size(packets[0]) == (322, 242)
    assert not vp8_is_keyframe(packets[1]) and vp8_frame_size(packets[1]) is None


@pytest.mark.parametrize("profile", ["baseline", "high"])
def test_h264_idr_and_sps_size_from_x264(profile: str) -> None:
    packets = encode_frames("libx264", 642, 362, 3, preset="ultrafast", tune="zerolatency",
                            profile=profile)
    assert h264_is_keyframe(packets[0]) and {7, 8, 5} <= h264_nal_types(packets[0])
    assert not h264_is_keyframe(packets[1])
    sets = H264ParameterSets()
    sets.update(packets[0])
    assert sets.size() == (642, 362)
    # An IDR without parameter sets gets them put in front.
    idr_only = b"".join(b"\x00\x00\x00\x01" + u for u in _units(packets[0]) if u[0] & 0x1F == 5)
    completed = sets.complete_keyframe(idr_only)
    assert completed is not None and {7, 8, 5} <= h264_nal_types(completed)
    assert h264_sps_size(b"\x67") is None  # truncated: no crash


def _units(data: bytes) -> list[bytes]:
    from guestrec.media.bitstream import h264_nal_units

    return h264_nal_units(data)


@pytest.mark.parametrize("ms", ["10", "20", "60"])
def test_opus_packet_length_from_libopus(ms: str) -> None:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format, ctx.bit_rate = 48_000, "stereo", "flt", 64_000
    ctx.options = {"frame_duration": ms}
    ctx.open()
    samples = 48 * int(ms)
    frame = audioline.make_frame(np.zeros((samples, 2), dtype=np.float32), 0)
    packets = []
    for i in range(4):
        frame = audioline.make_frame(np.zeros((samples, 2), dtype=np.float32), i * samples)
        packets += [bytes(p) for p in ctx.encode(frame)]
    assert packets and all(opus_packet_samples(p) == samples for p in packets)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ntp(seconds: float) -> int:
    return int(seconds * (1 << 32))


def test_timeline_aligns_streams_through_sender_reports() -> None:
    """Video arrives 300 ms later than audio; the reports still put them together."""
    clock = FakeClock()
    tl = Timeline(clock)
    tl.add_stream("audio")
    tl.add_stream("video")
    audio_origin, video_origin = 0xFFFFF000, 12345  # random RTP origins; audio wraps
    sender_epoch = 3_900_000_000.0  # NTP seconds at sender time 0

    def rtp(kind: str, t: float) -> int:
        origin, rate = (audio_origin, 48_000) if kind == "audio" else (video_origin, 90_000)
        return (origin + round(t * rate)) & 0xFFFFFFFF

    for step in range(60):  # 1.2 s of media, 20 ms steps
        t = step * 0.02
        clock.now = 100.0 + t + 0.05
        a = tl.on_media("audio", rtp("audio", t), arrival=100.0 + t + 0.05)
        v = tl.on_media("video", rtp("video", t), arrival=100.0 + t + 0.35)
        if step == 10:
            assert not tl.ready()
        if step in (20, 45):
            tl.on_report("audio", ntp(sender_epoch + t), rtp("audio", t))
            tl.on_report("video", ntp(sender_epoch + t), rtp("video", t))
    assert tl.ready() and tl.mode == "sr"
    ta, tv = tl.seconds("audio", a), tl.seconds("video", v)
    assert ta is not None and tv is not None
    assert abs(ta - tv) < 1e-6  # same sender instant, same timeline time
    assert a > 1 << 32  # the audio RTP clock wrapped and was unwrapped


def test_timeline_falls_back_to_arrival_then_switches_smoothly() -> None:
    clock = FakeClock()
    tl = Timeline(clock)
    tl.add_stream("video")
    tl.add_stream("audio")
    first = tl.on_media("video", 1000, arrival=clock.now)
    tl.on_media("audio", 5000, arrival=clock.now)
    clock.now += HOLD_SECONDS + 0.1
    assert tl.ready() and tl.mode == "arrival"
    before = tl.seconds("video", first)
    tl.on_report("video", ntp(3_900_000_000.0), 1000)
    tl.on_report("audio", ntp(3_900_000_000.0 + 0.25), 5000)
    assert tl.mode == "sr"
    assert tl.seconds("video", first) == pytest.approx(before, abs=1e-5)  # the anchor stays
    # Audio moves to where the reports say: 250 ms after the video frame.
    assert tl.seconds("audio", 5000) - tl.seconds("video", 1000) == pytest.approx(0.25, abs=1e-5)


def test_late_sender_report_does_not_move_the_mapping() -> None:
    tl = Timeline(FakeClock())
    tl.on_media("audio", 0, arrival=100.0)
    tl.on_report("audio", ntp(1000.0), 48_000)  # RTP 1 s <-> NTP 1000
    tl.on_report("audio", ntp(1001.3), 96_000)  # stamped 300 ms late by a busy sender
    assert tl.streams["audio"].sr_offset == pytest.approx(999.0)


def tone(samples: int, start: int) -> av.AudioFrame:
    data = (np.sin(np.arange(start, start + samples) / 10) * 10000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(np.repeat(data, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48_000
    return frame


def test_audio_line_fills_gaps_and_cuts_overlaps() -> None:
    line = audioline.AudioLine()
    out = line.push(tone(960, 0), 0)
    out += line.push(tone(960, 960), 960 + 100)  # jitter: stays continuous
    assert line.next_sample == 1920 and line.gaps == 0
    out += line.push(tone(960, 1920), 1920 + 4800)  # 100 ms lost: silence in between
    assert line.gaps == 1 and line.gap_samples == 4800 and line.next_sample == 1920 + 4800 + 960
    out += line.push(tone(960, 0), 1920)  # comes again: overlaps everything, cut
    assert line.trimmed_samples == 960
    out += line.flush()
    positions = [pos for pos, _ in out]
    assert positions == sorted(positions) and positions[0] == 0
    total = sum(len(s) for _, s in out)
    assert total == 1920 + 4800 + 960
    joined = np.concatenate([s for _, s in out])
    assert np.all(joined[1920:1920 + 4800] == 0) and np.any(joined[:1920] != 0)


def test_audio_line_never_runs_far_ahead_of_the_wall_clock() -> None:
    now = [100.0]
    line = audioline.AudioLine(clock=lambda: now[0])
    line.push(tone(960, 0), 0)
    # A guest whose timestamps leap 20 s per packet, 20 ms apart in real time.
    for index in range(1, 6):
        now[0] += 0.02
        line.push(tone(960, 0), index * 20 * 48_000)
    slack = audioline.WALL_CLOCK_SLACK * 48_000
    assert line.next_sample <= (now[0] - 100.0) * 48_000 + slack + 960
    # An honest 5 s network stall is filled in full.
    honest = audioline.AudioLine(clock=lambda: now[0])
    honest.push(tone(960, 0), 0)
    now[0] += 5.0
    honest.push(tone(960, 0), 5 * 48_000)
    assert honest.gap_samples == 5 * 48_000 - 960


def test_start_recording_into_an_unwritable_place_raises_oserror(tmp_path) -> None:
    import asyncio

    from guestrec.common.plan import make_plan
    from guestrec.media import GuestMedia

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    async def run() -> None:
        media = GuestMedia("guest")
        with pytest.raises(OSError):
            media.start_recording(make_plan(6000), blocker / "recordings")
        assert media.recording_status() is None
        await media.close()

    asyncio.run(run())


def test_frame_sequence_numbers_keep_their_order_across_the_wrap() -> None:
    from guestrec.media.tap import _seq_order

    assert _seq_order({65534, 65535, 0, 1}) == [65534, 65535, 0, 1]
    assert _seq_order({1, 0, 65535}) == [65535, 0, 1]
    assert _seq_order({7, 5, 6}) == [5, 6, 7]
