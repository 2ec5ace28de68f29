"""Lost packets in copy mode: the broken frames are left out and a keyframe is asked for,
so the file decodes cleanly on both sides of the loss, and the gap lasts about a second
(aiortc alone would hold the video until 512 packets later)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from guestrec.common.plan import make_plan
from guestrec.media.sidecar import read_sidecar
from support.guest_run import GuestSpec, record_guests
from support.media_probe import decoded_video, ffprobe_decode_errors, read_counter
from support.rtp_loss import lose_for_good
from support.synthetic import CounterVideoTrack, ToneAudioTrack


def test_copy_recording_survives_packet_loss(tmp_path: Path) -> None:
    def on_track(receiver, track) -> None:
        if track.kind == "video":
            lose_for_good(receiver, count=3, after_packets=300)

    video = CounterVideoTrack(320, 240)
    spec = GuestSpec("lossy", [video, ToneAudioTrack()], make_plan(1000, codec="copy"),
                     tmp_path, on_track=on_track)
    (result,) = asyncio.run(record_guests([spec], seconds=9, warmup=0.5))
    side = read_sidecar(result.path)
    network = side["network"]["video"]
    print(f"loss: {network}")
    assert network["holes_skipped"] >= 1 and network["broken_frames"] >= 1
    assert ffprobe_decode_errors(result.path) == ""
    numbers = [n for _, n in decoded_video(result.path, read_counter)]
    gaps = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
    assert len(gaps) == 1, gaps  # one hole where the broken frames were left out
    assert gaps[0][1] - gaps[0][0] <= 30 * 2  # about a second of video missing, not seconds
    assert numbers[-1] >= numbers[0] + 30 * 6  # and the recording went on after it
