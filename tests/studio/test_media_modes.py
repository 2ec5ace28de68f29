"""Record modes with real aiortc peers; files checked with ffprobe, ffmpeg and PyAV."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
import pytest

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import audio_samples, ffprobe_decode_errors, probe, streams_of
from support.synthetic import MovingVideoTrack, ToneAudioTrack


def stream_kbps(path: Path, kind: str) -> tuple[float, float]:
    """(kbps, seconds) of the first stream of a kind, from its packets in the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        total = 0
        times = []
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                total += packet.size
                times.append(float(packet.pts * packet.time_base))
    times.sort()
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    seconds = times[-1] - times[0] + step
    return total * 8 / seconds / 1000, seconds


def doc_type(path: Path) -> str:
    head = path.read_bytes()[:64]
    return "webm" if b"webm" in head else "matroska" if b"matroska" in head else "?"


def within(value: float, target: float, fraction: float) -> bool:
    return abs(value - target) <= target * fraction


@pytest.mark.parametrize("kbps, opus_kbps", [(6000, 128), (2000, 32)])
def test_vp8_at_bitrate(tmp_path: Path, kbps: int, opus_kbps: int) -> None:
    spec = GuestSpec(
        "Guest One", [MovingVideoTrack(1280, 720), ToneAudioTrack()], make_plan(kbps), tmp_path
    )
    (result,) = asyncio.run(record_guests([spec], seconds=16))
    path = result.path
    assert path is not None and path.suffix == ".webm" and doc_type(path) == "webm"
    assert path.name.startswith("Guest_One ")
    info = probe(path)
    (video,) = streams_of(info, "video")
    (audio,) = streams_of(info, "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("vp8", 1280, 720)
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("opus", "48000", 2)
    duration = float(info["format"]["duration"])
    assert abs(duration - result.elapsed) <= 0.5, (duration, result.elapsed)
    video_kbps, _ = stream_kbps(path, "video")
    audio_kbps, _ = stream_kbps(path, "audio")
    print(f"VP8 {kbps}: video {video_kbps:.0f} kbps, audio {audio_kbps:.1f} kbps, "
          f"duration {duration:.2f} s of {result.elapsed:.2f} s")
    assert within(video_kbps, kbps, 0.15), video_kbps
    assert within(audio_kbps, opus_kbps, 0.15), audio_kbps
    assert ffprobe_decode_errors(path) == ""
    side = read_sidecar(path)
    assert side["video"]["requested_kbps"] == kbps and side["audio"]["requested_kbps"] == opus_kbps
    assert within(side["video"]["measured_kbps"], video_kbps, 0.05)
    assert side["status"] == "complete" and side["errors"] == []


def test_audio_only_modes(tmp_path: Path) -> None:
    """0 -> 32-bit float PCM in .mka; -120 -> Opus at 120 kbps in .webm; no video either way."""
    pcm = GuestSpec("pcm", [MovingVideoTrack(320, 240), ToneAudioTrack(440)], make_plan(0), tmp_path)
    opus = GuestSpec("opus", [MovingVideoTrack(320, 240), ToneAudioTrack(660)], make_plan(-120), tmp_path)
    results = asyncio.run(record_guests([pcm, opus], seconds=6))
    pcm_path, opus_path = results[0].path, results[1].path
    assert pcm_path.suffix == ".mka" and opus_path.suffix == ".webm"
    for result in results:
        info = probe(result.path)
        assert streams_of(info, "video") == []
        (audio,) = streams_of(info, "audio")
        assert audio["sample_rate"] == "48000" and audio["channels"] == 2
        assert abs(float(info["format"]["duration"]) - result.elapsed) <= 0.5
        assert ffprobe_decode_errors(result.path) == ""
    assert streams_of(probe(pcm_path), "audio")[0]["codec_name"] == "pcm_f32le"
    assert streams_of(probe(opus_path), "audio")[0]["codec_name"] == "opus"
    opus_kbps, _ = stream_kbps(opus_path, "audio")
    print(f"-120: Opus {opus_kbps:.1f} kbps")
    assert within(opus_kbps, 120, 0.10)
    # The PCM is the tone the guest sent: its main frequency is 440 Hz.
    _, samples = audio_samples(pcm_path)
    segment = samples[48_000:96_000]
    spectrum = np.abs(np.fft.rfft(segment))
    assert abs(np.argmax(spectrum) * 48_000 / len(segment) - 440) <= 2


def test_h264_recording_goes_to_matroska(tmp_path: Path) -> None:
    spec = GuestSpec("h264", [MovingVideoTrack(640, 360), ToneAudioTrack()],
                     make_plan(2000, codec="h264"), tmp_path)
    (result,) = asyncio.run(record_guests([spec], seconds=6))
    assert result.path.suffix == ".mkv" and doc_type(result.path) == "matroska"
    info = probe(result.path)
    (video,) = streams_of(info, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert streams_of(info, "audio")[0]["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) - result.elapsed) <= 0.5
    video_kbps, _ = stream_kbps(result.path, "video")
    print(f"H.264 2000: video {video_kbps:.0f} kbps")
    assert within(video_kbps, 2000, 0.25)  # a short run: x264's VBV settles over seconds
    assert ffprobe_decode_errors(result.path) == ""


def test_copy_mode_writes_the_received_bitstream(tmp_path: Path) -> None:
    vp8 = GuestSpec("copy-vp8", [MovingVideoTrack(640, 360), ToneAudioTrack()],
                    make_plan(6000, codec="copy"), tmp_path)
    h264 = GuestSpec("copy-h264", [MovingVideoTrack(640, 360), ToneAudioTrack()],
                     make_plan(6000, codec="copy"), tmp_path, video_codec="video/H264")
    results = asyncio.run(record_guests([vp8, h264], seconds=6))
    for result, codec, ext in zip(results, ("vp8", "h264"), (".webm", ".mkv"), strict=True):
        path = result.path
        assert path.suffix == ext
        info = probe(path)
        (video,) = streams_of(info, "video")
        assert (video["codec_name"], video["width"], video["height"]) == (codec, 640, 360)
        assert streams_of(info, "audio")[0]["codec_name"] == "opus"
        assert abs(float(info["format"]["duration"]) - result.elapsed) <= 0.5
        assert ffprobe_decode_errors(path) == ""
        with av.open(str(path)) as container:
            first = next(p for p in container.demux(video=0) if p.size)
            assert first.is_keyframe
        # Headless copy: aiortc's decoders never got a frame.
        for kind in ("video", "audio"):
            assert result.media.taps[kind].decode is False
            assert result.media.decoded_frames[kind] == 0
        # The sender's encoder runs at ~0.5-1.5 Mbps: the copy has the sender's rate, not 6000.
        assert read_sidecar(path)["video"]["requested_kbps"] is None


def test_resolution_change_mid_stream(tmp_path: Path) -> None:
    """Transcode keeps the first size (letterboxed); copy keeps the guest's frames as sent."""
    tracks = {"vp8": MovingVideoTrack(640, 360), "copy": MovingVideoTrack(640, 360)}
    specs = [
        GuestSpec(f"resize-{codec}", [track, ToneAudioTrack()], make_plan(2000, codec=codec), tmp_path)
        for codec, track in tracks.items()
    ]
    changed = []

    def during(results, t: float) -> None:
        if t >= 3.0 and not changed:
            for track in tracks.values():
                track.set_size(480, 360)
            changed.append(t)

    results = asyncio.run(record_guests(specs, seconds=7, during=during))
    transcoded, copied = results[0].path, results[1].path
    sizes = {(f.width, f.height) for f in _frames(transcoded)}
    assert sizes == {(640, 360)}
    frames = _frames(transcoded)
    assert len(frames) >= 30 * results[0].elapsed * 0.9
    # The letterbox: after the change the left and right edges are black.
    late = frames[-1].to_ndarray(format="gray")
    assert late[:, :40].mean() < 20 and late[:, -40:].mean() < 20
    assert ffprobe_decode_errors(transcoded) == ""
    copied_sizes = {(f.width, f.height) for f in _frames(copied)}
    assert copied_sizes == {(640, 360), (480, 360)}
    assert ffprobe_decode_errors(copied) == ""
    for result in results:
        assert abs(float(probe(result.path)["format"]["duration"]) - result.elapsed) <= 0.5


def _frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


class LateVideoTrack(MovingVideoTrack):
    """A camera that starts sending only after `delay` seconds."""

    def __init__(self, delay: float, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.waited = False

    async def recv(self):
        if not self.waited:
            self.waited = True
            await asyncio.sleep(self.delay)
            self.clock.start = None  # frame timing starts when the camera does
        return await super().recv()


def test_video_that_comes_late_gets_its_own_file(tmp_path: Path) -> None:
    spec = GuestSpec("late", [LateVideoTrack(7.0, 320, 240), ToneAudioTrack()],
                     make_plan(1000), tmp_path)
    (result,) = asyncio.run(record_guests([spec], seconds=10, warmup=0.3))
    files = [tmp_path / name for name in result.summary["files"]]
    assert len(files) == 2
    first, second = (probe(p) for p in files)
    assert streams_of(first, "video") == [] and streams_of(first, "audio")
    assert streams_of(second, "video") and streams_of(second, "audio")
    total = float(first["format"]["duration"]) + float(second["format"]["duration"])
    assert abs(total - result.elapsed) <= 0.6
    assert all(ffprobe_decode_errors(p) == "" for p in files)
