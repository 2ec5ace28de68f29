"""Run one or more real guests (aiortc sender -> receiver -> GuestMedia) and record them.

    results = asyncio.run(record_guests([GuestSpec(...), ...], seconds=10))

Every guest gets its own peer pair; all run at once on one loop. Recording starts after
`warmup` seconds of media (as when a host presses record), and `elapsed` is the wall time
from start_recording to the stop_recording call: the time the guest sent media for the file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from guestrec.common.plan import RecordPlan
from guestrec.media import GuestMedia

from .peer_pair import PeerPair


@dataclass
class GuestSpec:
    name: str
    tracks: list[MediaStreamTrack]
    plan: RecordPlan
    out_dir: Path
    video_codec: str | None = None  # e.g. "video/H264" for the sender
    split_minutes: float | None = None
    on_track: Callable[[Any, MediaStreamTrack], None] | None = None


@dataclass
class GuestResult:
    spec: GuestSpec
    media: GuestMedia
    path: Path | None = None
    summary: dict | None = None
    elapsed: float = 0.0
    changes: list[dict | None] = field(default_factory=list)
    error: BaseException | None = None


async def record_guests(
    specs: list[GuestSpec],
    seconds: float,
    warmup: float = 1.0,
    during: Callable[[list[GuestResult], float], Any] | None = None,
) -> list[GuestResult]:
    """Connect every guest, record for `seconds`, stop; `during(results, t)` is polled."""
    results: list[GuestResult] = []
    pairs: list[PeerPair] = []
    for spec in specs:
        result = GuestResult(spec, GuestMedia(spec.name))
        result.media.on_recording_change = (
            lambda r=result: r.changes.append(r.media.recording_status())
        )

        def on_track(receiver, track, spec=spec, media=result.media) -> None:
            media.attach(receiver, track)
            if spec.on_track is not None:
                spec.on_track(receiver, track)

        pairs.append(PeerPair(spec.tracks, on_track=on_track, video_codec=spec.video_codec))
        results.append(result)
    try:
        for pair in pairs:
            await pair.start()
        for pair in pairs:
            await pair.connected()
        await asyncio.sleep(warmup)
        started = {}
        for result in results:
            try:
                result.path = result.media.start_recording(
                    result.spec.plan, result.spec.out_dir, result.spec.split_minutes
                )
            except OSError as exc:
                result.error = exc
            started[id(result)] = time.monotonic()
        t0 = time.monotonic()
        while (now := time.monotonic()) - t0 < seconds:
            if during is not None:
                outcome = during(results, now - t0)
                if asyncio.iscoroutine(outcome):
                    await outcome
            await asyncio.sleep(0.1)
        stop_at = time.monotonic()
        for result in results:
            result.elapsed = stop_at - started[id(result)]
        summaries = await asyncio.gather(*(r.media.stop_recording() for r in results))
        for result, summary in zip(results, summaries, strict=True):
            result.summary = summary
        for result in results:
            await result.media.close()
    finally:
        for pair in pairs:
            await pair.close()
    return results
