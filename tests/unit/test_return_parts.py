"""The return feed's parts on their own: the grid picture, the studio feed file, the Opus
packets a listener gets, the sink tee, the offer directions, the settings."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np
import pytest

from guestrec.conversation.grid_video import GridVideo, fit, layout
from guestrec.conversation.opus_packets import OpusPackets
from guestrec.conversation.pcm import TICK_SAMPLES, StereoPcm
from guestrec.conversation.settings import ReturnSettings, ReturnSettingsError
from guestrec.conversation.sink_tee import SinkTee
from guestrec.conversation.studio_feed import StudioFeed, StudioFeedError
from guestrec.webrtc import sdp
from support.counting_sink import CountingSink
from support.tones import tone_levels, write_tone_wav


def solid(width: int, height: int, y: int) -> av.VideoFrame:
    planes = np.concatenate([np.full((height, width), y, np.uint8),
                             np.full((height // 2, width), 128, np.uint8)])
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def luma_at(frame: av.VideoFrame, x: int, y: int) -> int:
    return int(frame.to_ndarray()[y, x])


def test_layout_fills_the_picture_with_even_cells() -> None:
    assert layout(1) == [(0, 0, 640, 360)]
    two = layout(2)
    assert [c[2:] for c in two] == [(320, 360), (320, 360)] and two[1][0] == 320
    three = layout(3)
    assert len(three) == 3 and three[2][0] == 160  # the short last row is centred
    for count in range(1, 13):
        for x, y, w, h in layout(count):
            assert x % 2 == y % 2 == w % 2 == h % 2 == 0
            assert x + w <= 640 and y + h <= 360
    assert fit(1280, 720, 320, 360) == (320, 180)
    assert fit(480, 640, 320, 180) == (134, 180)


def test_grid_shows_guests_in_join_order_and_drops_stale_ones() -> None:
    grid = GridVideo(stale_seconds=0.2)
    grid.set_frame("Anna", solid(320, 240, 200))
    grid.set_frame("Ben", solid(1280, 720, 60))
    picture = grid.compose()
    assert (picture.width, picture.height, picture.format.name) == (640, 360, "yuv420p")
    assert abs(luma_at(picture, 160, 180) - 200) <= 2  # Anna on the left
    assert abs(luma_at(picture, 480, 180) - 60) <= 2  # Ben on the right
    assert luma_at(picture, 160, 10) == 16  # Anna's 4:3 picture is letterboxed on black
    grid.remove("Anna")
    assert grid.shown() == ["Ben"]
    import time

    time.sleep(0.25)
    assert grid.shown() == []
    assert luma_at(grid.compose(), 320, 180) == 16


def test_grid_scales_a_tile_again_only_for_a_new_picture() -> None:
    grid = GridVideo()
    first = solid(320, 180, 100)
    grid.set_frame("Anna", first)
    grid.compose()
    grid.set_frame("Anna", solid(320, 180, 180))
    assert abs(luma_at(grid.compose(), 320, 180) - 180) <= 2


def test_studio_feed_loops_its_file_at_48k_stereo(tmp_path: Path) -> None:
    path = tmp_path / "feed.wav"
    write_tone_wav(path, 1000.0, seconds=0.5, rate=44_100)  # resampled to 48 kHz
    feed = StudioFeed(path)
    samples = np.concatenate([feed.read(TICK_SAMPLES) for _ in range(60)])  # 1.2 s
    assert samples.shape == (60 * TICK_SAMPLES, 2)
    assert feed.loops >= 2
    levels = tone_levels(samples, [1000.0, 1100.0])
    assert levels[1000.0] > -20 and levels[1100.0] < levels[1000.0] - 20
    feed.close()


def test_studio_feed_refuses_a_file_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "text.wav"
    path.write_text("not audio")
    with pytest.raises(StudioFeedError):
        StudioFeed(path)


def test_opus_packets_decode_back_to_the_mix() -> None:
    encoder = OpusPackets()
    decoder = av.CodecContext.create("libopus", "r")
    n = np.arange(50 * TICK_SAMPLES)
    mono = (0.3 * 32767 * np.sin(2 * np.pi * 700 * n / 48000)).astype(np.int16)
    pcm = StereoPcm()
    decoded = []
    pts = []
    for tick in range(50):
        block = np.stack([mono[tick * 960:(tick + 1) * 960]] * 2, axis=1)
        for packet in encoder.encode(block):
            pts.append(packet.pts)
            assert packet.time_base == fractions.Fraction(1, 48000)
            decoded += [pcm.convert(frame) for frame in decoder.decode(packet)]
    assert pts == [i * 960 for i in range(50)]  # one packet per tick, RTP-ready stamps
    levels = tone_levels(np.concatenate(decoded)[4800:], [700.0, 300.0])
    assert levels[700.0] > -15 and levels[300.0] < -60


def test_sink_tee_feeds_both_and_survives_one_failing() -> None:
    class Broken:
        def on_video(self, frame, ts): raise RuntimeError("broken")
        def on_audio(self, frame, ts): raise RuntimeError("broken")
        def on_connected(self): raise RuntimeError("broken")
        def on_disconnected(self): raise RuntimeError("broken")

    counting = CountingSink("Anna")
    assert SinkTee.of(None, None) is None
    assert SinkTee.of(counting, None) is counting
    tee = SinkTee.of(Broken(), counting)
    frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
    tee.on_connected()
    tee.on_audio(frame, 0)
    tee.on_disconnected()
    assert counting.counts == {"connected": 1, "video": 0, "audio": 1, "disconnected": 1}


def test_offer_sections_say_who_wants_a_return() -> None:
    offer = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
             "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n"
             "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n")
    sections = sdp.parse_media(offer)
    assert [s.receives for s in sections] == [True, False, True, False]
    assert [s.sends for s in sections] == [True, True, False, False]


def test_return_settings_refuse_an_unknown_video_mode() -> None:
    assert ReturnSettings().enabled
    assert not ReturnSettings(audio=False, video="off").enabled
    with pytest.raises(ReturnSettingsError, match="grid"):
        ReturnSettings(video="program")


def test_engine_refuses_return_settings_it_cannot_use(tmp_path: Path) -> None:
    from guestrec.server.engine import Engine, EngineError, EngineSettings

    with pytest.raises(EngineError, match="return video must be one of off, grid"):
        Engine(EngineSettings(out_dir=tmp_path, return_video="mosaic"))
    with pytest.raises(EngineError, match="'program' is OBS's picture: it works inside OBS only"):
        Engine(EngineSettings(out_dir=tmp_path, return_video="program"))
    with pytest.raises(EngineError, match=r"missing\.wav is not a file"):
        Engine(EngineSettings(out_dir=tmp_path, studio_audio=tmp_path / "missing.wav"))
    engine = Engine(EngineSettings(out_dir=tmp_path, return_audio=False, return_video="off"))
    assert not engine.settings.returns().enabled


def test_the_grid_slows_down_while_recordings_fall_behind_and_recovers() -> None:
    from guestrec.conversation.video_easing import CALM_CHECKS, RATES, VideoEasing

    lag = {"now": 0.0}
    rates: list[int] = []
    easing = VideoEasing(lambda: lag["now"], rates.append)
    easing.check()
    assert rates == [] and easing.fps == RATES[0]
    lag["now"] = 1.5
    for _ in range(len(RATES) + 2):
        easing.check()
    assert rates == list(RATES[1:]) and easing.fps == RATES[-1]
    lag["now"] = 0.1
    for _ in range(CALM_CHECKS * len(RATES)):
        easing.check()
    assert easing.fps == RATES[0] and rates[-1] == RATES[0]
