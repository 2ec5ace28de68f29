"""convert_file: stream copy into .opus/.wav/.mka/.mp4/.webm, or a clear refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from guestrec.cli.convert import ConversionError, convert_file
from guestrec.common.plan import make_plan
from support.guest_run import GuestSpec, record_guests
from support.media_probe import packet_digests, probe, streams_of
from support.synthetic import MovingVideoTrack, ToneAudioTrack

SOURCES = {
    "vp8": make_plan(1000),
    "vp9": make_plan(1000, codec="vp9"),
    "av1": make_plan(1000, codec="av1"),
    "h264": make_plan(1000, codec="h264"),
    "pcm": make_plan(0),
    "opus": make_plan(-64),
    "vp8pcm": make_plan(1000, pcm=True),
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sources")
    specs = [
        GuestSpec(name, [MovingVideoTrack(320, 240), ToneAudioTrack()], plan, base / name)
        for name, plan in SOURCES.items()
    ]
    results = asyncio.run(record_guests(specs, seconds=4))
    return {r.spec.name: r.path for r in results}


def payload(path: Path, kind: str) -> bytes:
    with av.open(str(path)) as container:
        streams = container.streams.video if kind == "video" else container.streams.audio
        return b"".join(bytes(p) for p in container.demux(streams[0]) if p.size)


@pytest.mark.parametrize(
    "source, to, fmt, video, audio",
    [
        ("vp8", "opus", "ogg", None, "opus"),
        ("opus", "opus", "ogg", None, "opus"),
        ("pcm", "wav", "wav", None, "pcm_f32le"),
        ("vp8pcm", "wav", "wav", None, "pcm_f32le"),
        ("vp8", "mka", "matroska", None, "opus"),
        ("pcm", "mka", "matroska", None, "pcm_f32le"),
        ("vp9", "mp4", "mp4", "vp9", "opus"),
        ("av1", "mp4", "mp4", "av1", "opus"),
        ("h264", "mp4", "mp4", "h264", "opus"),
        ("vp9", "webm", "webm", "vp9", "opus"),
        ("av1", "webm", "webm", "av1", "opus"),
        ("opus", "webm", "webm", None, "opus"),
    ],
)
def test_convert_copies_streams(recordings, tmp_path: Path, source, to, fmt, video, audio) -> None:
    src = recordings[source]
    out = convert_file(src, to, tmp_path / f"out.{to}")
    assert out == tmp_path / f"out.{to}"
    info = probe(out)
    assert fmt in info["format"]["format_name"]
    assert [s["codec_name"] for s in streams_of(info, "video")] == ([video] if video else [])
    assert [s["codec_name"] for s in streams_of(info, "audio")] == [audio]
    # Nothing re-encoded: the very same packets (PCM: the same sample bytes).
    if audio.startswith("pcm"):
        assert payload(out, "audio") == payload(src, "audio")
    else:
        assert packet_digests(out, "audio") == packet_digests(src, "audio")
    if video:
        assert packet_digests(out, "video") == packet_digests(src, "video")
    assert abs(audio_end(out) - audio_end(src)) < 0.03


def audio_end(path: Path) -> float:
    with av.open(str(path)) as container:
        ends = [float((p.pts + p.duration) * p.time_base)
                for p in container.demux(container.streams.audio[0]) if p.size]
    return max(ends)


@pytest.mark.parametrize(
    "source, to, words",
    [
        ("vp8", "mp4", ["VP8", "MP4"]),
        ("vp8", "wav", ["opus", "WAV"]),
        ("pcm", "opus", ["pcm_f32le", ".wav"]),
        ("h264", "webm", ["H264", "WebM"]),
        ("vp8pcm", "webm", ["pcm_f32le", "WebM"]),
        ("pcm", "webm", ["pcm_f32le", "WebM"]),
        ("vp8", "avi", ["avi"]),
    ],
)
def test_convert_refuses_what_needs_reencoding(recordings, tmp_path, source, to, words) -> None:
    with pytest.raises(ConversionError) as caught:
        convert_file(recordings[source], to, tmp_path / f"out.{to}")
    message = str(caught.value)
    assert all(word in message for word in words), message
    assert not (tmp_path / f"out.{to}").exists()
    assert list(tmp_path.iterdir()) == []


def test_default_output_goes_beside_the_input(recordings, tmp_path: Path) -> None:
    src = tmp_path / "take.webm"
    src.write_bytes(recordings["vp9"].read_bytes())
    assert convert_file(src, "mp4") == tmp_path / "take.mp4"
    same = convert_file(src, "webm")
    assert same == tmp_path / "take-converted.webm" and src.exists()
    with pytest.raises(ConversionError):
        convert_file(tmp_path / "missing.webm", "opus")
