"""Picture-size limits read from real bitstreams, and the frame ledger's arithmetic."""

from __future__ import annotations

import fractions
import struct

import av
import numpy as np

from guestrec.media.ledger import StreamLedger
from guestrec.media.limits import MediaLimits, declared_size


def encoded_keyframe(codec: str, width: int, height: int) -> bytes:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, 30)
    if codec == "libx264":
        ctx.options = {"annexb": "1", "bf": "0"}
    frame = av.VideoFrame.from_ndarray(np.zeros((height * 3 // 2, width), np.uint8), format="yuv420p")
    frame.pts = 0
    packets = list(ctx.encode(frame)) + list(ctx.encode(None))
    return bytes(packets[0])


def test_declared_sizes_of_real_keyframes_and_a_forged_one() -> None:
    vp8 = encoded_keyframe("libvpx", 320, 240)
    assert declared_size("vp8", vp8) == (320, 240)
    forged = vp8[:6] + struct.pack("<HH", 16383, 16383) + vp8[10:]
    assert declared_size("vp8", forged) == (16383, 16383)
    h264 = encoded_keyframe("libx264", 640, 360)
    assert declared_size("h264", h264) == (640, 360)
    limits = MediaLimits()
    assert limits.size_problem(3840, 2160) is None and limits.size_problem(2160, 3840) is None
    assert "16383x16383" in limits.size_problem(16383, 16383)
    assert limits.size_problem(3841, 2160) and limits.size_problem(0, 100)


def test_ledger_counts_add_up_within_the_recording() -> None:
    ledger = StreamLedger()
    for rtp in range(0, 100, 10):  # ten frames arrive
        ledger.arrived(rtp)
    ledger.dropped(0, "queue_full")  # before the first written frame: not the recording's
    ledger.wrote(10)
    ledger.dropped(20, "queue_full")
    for rtp in (30, 40, 50):
        ledger.wrote(rtp)
    # 60..90 arrived; 60 and 70 are written later, 80 and 90 never come out of the decoder
    mid = ledger.summary(final=False)
    assert mid == {"received": 5, "written": 4, "dropped": {"queue_full": 1}}
    ledger.wrote(60)
    ledger.wrote(70)
    ledger.stop()
    ledger.arrived(100)  # after the stop: not counted
    assert ledger.summary() == {"received": 9, "written": 6,
                                "dropped": {"queue_full": 1, "not_decoded": 2}}
