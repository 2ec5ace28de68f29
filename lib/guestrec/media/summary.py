"""The sidecar summary of one file of a recording (see sidecar.py for how it is stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ledger import explain
from .sidecar import bitrate_kbps

if TYPE_CHECKING:
    from .segments import Segment
    from .writer import RecordingWriter


def segment_summary(writer: RecordingWriter, seg: Segment, final: bool) -> dict:
    """The sidecar of one file: what was asked, what was written, what was lost."""
    stats = seg.file.stats
    v, a = stats.video, stats.audio
    video_seconds = None
    if v.first_pts is not None and v.end_pts is not None:
        # the last frame lasts as long as the average frame before it
        span = v.end_pts - v.first_pts
        frames = max(1, v.packets - 1)
        video_seconds = (span + span / frames) / 90_000 if v.packets > 1 else None
    audio_seconds = None
    if a.first_pts is not None and a.end_pts is not None:
        audio_seconds = (a.end_pts - a.first_pts) / 48_000
    duration = max(video_seconds or 0.0, audio_seconds or 0.0)
    plan = writer.plan
    offset_ms = None
    if v.first_pts is not None and a.first_pts is not None:
        offset_ms = round((a.first_pts / 48_000 - v.first_pts / 90_000) * 1000, 1)
    guest_stats = {}
    try:
        guest_stats = writer.guest_stats()
    except Exception:  # noqa: BLE001 - the guest's statistics are extra; the sidecar is written without them
        pass
    timeline = guest_stats.pop("timeline", None)
    # The recording's frames so far (all its files): received, written, dropped and why.
    frames = {kind: ledger.summary(final=final and writer.ending)
              for kind, ledger in writer.ledgers.items()}
    lost: dict[str, int] = {}
    for counts in frames.values():
        for reason, count in counts["dropped"].items():
            lost[reason] = lost.get(reason, 0) + count
    if not final:
        status = "recording"
    elif seg.errors and writer.failed:
        status = "failed"
    else:
        status = "incomplete" if lost else "complete"
    return {
        "guest": writer.guest,
        "file": seg.file.path.name,
        "status": status,
        "start_utc": seg.started_utc.isoformat(),
        "end_utc": seg.ended_utc.isoformat() if seg.ended_utc else None,
        # Where the file belongs on a timeline: its time 0, from the media's own timing.
        "media_start_utc": seg.media_start_utc.isoformat() if seg.media_start_utc else None,
        "mode": plan.mode,
        "copy": plan.copy,
        "container": seg.file.path.suffix.lstrip("."),
        "video": None if seg.file.video_stream is None else {
            "codec": seg.file.video_spec.codec if seg.file.video_spec else None,
            "width": seg.file.video_spec.width if seg.file.video_spec else None,
            "height": seg.file.video_spec.height if seg.file.video_spec else None,
            "requested_kbps": None if plan.copy else plan.video_kbps,
            "measured_kbps": bitrate_kbps(v.bytes, video_seconds or 0.0),
            "frames": v.packets,
            "seconds": round(video_seconds, 3) if video_seconds else None,
            "gaps_over_500ms": seg.video_gaps,
            "timeline_resyncs": writer.video_resyncs,
        },
        "audio": None if seg.file.audio_stream is None else {
            "codec": plan.audio_codec,
            "requested_kbps": plan.audio_kbps,
            "measured_kbps": bitrate_kbps(a.bytes, audio_seconds or 0.0),
            "samples": a.frames_in,
            "sample_rate": 48_000,
            "seconds": round(audio_seconds, 3) if audio_seconds else None,
            "gaps_filled": writer.audio_gaps,
            "gap_seconds_filled": round(writer.audio_gap_samples / 48_000, 3),
        },
        "duration_seconds": round(duration, 3),
        "av_sync": {
            "timeline": timeline,
            "audio_start_minus_video_start_ms": offset_ms,
        },
        "take": {"id": writer.take.get("id"), "part": writer.take.get("part"),
                 "previous_file": seg.previous_file, "next_file": seg.next_file},
        "frames": frames,
        "max_lag_seconds": round(writer.max_lag, 3),
        "warnings": [writer.warning] if writer.warning else [],
        "network": guest_stats,
        "errors": list(seg.errors) + explain(lost),
    }
