"""The bridge's pure parts: frame layouts for OBS, status texts, hand-over statistics."""

from __future__ import annotations

import av
import numpy as np

from guestrec.obs_bridge import libobs as L
from guestrec.obs_bridge.frames import AudioConverter, to_i420
from guestrec.obs_bridge.status import (
    HandoverStats,
    format_bytes,
    format_duration,
    guest_status_detail,
    guest_status_text,
)


def test_i420_frames_pass_through_without_a_copy() -> None:
    frame = av.VideoFrame(64, 48, "yuv420p")
    image = to_i420(frame)
    assert image.frame is frame
    assert image.pointers == tuple(p.buffer_ptr for p in frame.planes)
    assert image.linesizes[0] >= 64 and image.linesizes[1] >= 32
    assert image.range == L.VIDEO_RANGE_PARTIAL and image.colorspace == L.VIDEO_CS_601


def test_other_pixel_formats_are_converted_to_i420() -> None:
    rgb = np.zeros((48, 64, 3), dtype=np.uint8)
    rgb[:, :, 0] = 255  # red
    image = to_i420(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert image.frame.format.name == "yuv420p"
    y = np.frombuffer(image.frame.planes[0], dtype=np.uint8).reshape(48, -1)[:, :64]
    v = np.frombuffer(image.frame.planes[2], dtype=np.uint8).reshape(24, -1)[:, :32]
    assert abs(int(y.mean()) - 81) <= 2 and abs(int(v.mean()) - 240) <= 2  # BT.601 red


def test_full_range_and_bt709_are_recognised() -> None:
    frame = av.VideoFrame(16, 16, "yuvj420p")
    assert to_i420(frame).range == L.VIDEO_RANGE_FULL
    frame = av.VideoFrame(16, 16, "yuv420p")
    frame.colorspace = 1  # AVCOL_SPC_BT709
    assert to_i420(frame).colorspace == L.VIDEO_CS_709


def _s16(samples: int, rate: int, layout: str, value: int = 8192) -> av.AudioFrame:
    channels = 2 if layout == "stereo" else 1
    data = np.full((1, samples * channels), value, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
    frame.sample_rate = rate
    return frame


def test_audio_becomes_float_planar_stereo_48k() -> None:
    conv = AudioConverter()
    out = conv.convert(_s16(960, 48000, "stereo"), 1_000_000)
    assert len(out) == 1 and out[0].samples == 960 and out[0].timestamp_ns == 1_000_000
    left = np.frombuffer(out[0].frame.planes[0], dtype=np.float32)[:960]
    assert np.allclose(left, 0.25, atol=1e-3)  # 8192 / 32768
    assert len(out[0].pointers) == 2


def test_audio_of_another_rate_and_layout_is_resampled() -> None:
    conv = AudioConverter()
    total = 0
    for i in range(10):
        for chunk in conv.convert(_s16(441, 44100, "mono"), i * 10_000_000):
            assert chunk.frame.format.name == "fltp" and chunk.frame.layout.name == "stereo"
            assert chunk.frame.sample_rate == 48000
            total += chunk.samples
    assert 4000 <= total <= 4800  # 100 ms at 48 kHz, less what the resampler still holds


def test_status_texts() -> None:
    assert format_duration(3723.9) == "1:02:03"
    assert format_bytes(999) == "999 B" and format_bytes(12_400_000) == "12.4 MB"
    status = {"connected": True, "recording": True, "recording_seconds": 83, "file_bytes": 2_500_000,
              "file": "/x/Alice.webm", "error": None}
    assert guest_status_text(status) == "recording 0:01:23, 2.5 MB"
    assert guest_status_detail(status).endswith("File: /x/Alice.webm")
    assert guest_status_text(None) == "left"
    assert "error: disk full" in guest_status_text({"connected": False, "error": "disk full"})


def test_handover_stats_percentiles() -> None:
    stats = HandoverStats(keep=1000)
    for value in range(1, 101):
        stats.record(value * 1_000_000)  # 1..100 ms
    summary = stats.summary()
    assert summary["frames"] == 100
    assert 50 <= summary["median_ms"] <= 51 and 95 <= summary["p95_ms"] <= 96
    assert summary["max_ms"] == 100
