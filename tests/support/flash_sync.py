"""Lip-sync measurement shared by the sync test and the long sync benchmark.

A flash/beep guest (see synthetic.flash_beep_pair) is connected in-process to a GuestMedia,
its video path delayed on the way in so that arrival times would be off by that delay,
and recorded; the offsets are then read back from the file with PyAV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from guestrec.common.interfaces import GuestSink
from guestrec.common.plan import make_plan
from guestrec.media import GuestMedia

from .media_probe import audio_samples, beep_times, flash_times, pair_offsets, video_luma
from .peer_pair import PeerPair, delay_incoming_rtp
from .synthetic import flash_beep_pair


def delayed_video_guest(media: GuestMedia, video_delay: float) -> Callable[..., None]:
    """An on_track callback: attach to `media` and delay the incoming video RTP."""

    def on_track(receiver, track) -> None:
        media.attach(receiver, track)
        if track.kind == "video":
            delay_incoming_rtp(receiver, video_delay)

    return on_track


async def record_flash_beep(
    out_dir: Path, codec: str, seconds: float, video_delay: float
) -> tuple[Path, dict]:
    """Record a flash/beep guest for `seconds`; returns (file, sidecar summary)."""
    media = GuestMedia("sync")
    video, audio = flash_beep_pair(period=1.0, width=320, height=240, fps=30)
    async with PeerPair([video, audio], on_track=delayed_video_guest(media, video_delay)) as pair:
        await pair.connected()
        path = media.start_recording(make_plan(2000, codec=codec), out_dir)
        await asyncio.sleep(seconds)
        summary = await media.stop_recording()
        await media.close()
    return path, summary


async def watch_flash_beep(sink: GuestSink, seconds: float, video_delay: float) -> GuestMedia:
    """Show a flash/beep guest to `sink` for `seconds`, without recording."""
    media = GuestMedia("live")
    media.add_sink(sink)
    video, audio = flash_beep_pair(period=1.0, width=320, height=240, fps=30)
    async with PeerPair([video, audio], on_track=delayed_video_guest(media, video_delay)) as pair:
        await pair.connected()
        await asyncio.sleep(seconds)
        assert media.taps["video"].decode and media.taps["audio"].decode
        await media.close()
    return media


def flash_beep_pairs(path: Path) -> list[tuple[float, float]]:
    """(flash time, audio minus video offset) for every flash whose beep is in the file."""
    flashes = flash_times(video_luma(path))
    start, samples = audio_samples(path)
    beeps = beep_times(start, samples)
    return [(v, found[0]) for v in flashes if (found := pair_offsets([v], beeps))]
