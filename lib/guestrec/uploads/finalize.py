"""A received guest recording made into its final file: stream copy, placed, lip-synced.

Browsers record WebM (Chromium, Firefox) or fragmented MP4 (Safari). The final file keeps
the container family: WebM/Matroska stays Matroska (duration and cues added), fragmented
MP4 becomes a plain MP4 with its index at the front, so it plays and seeks anywhere.

Lip sync: a browser's recorder can stamp its sound apart from its picture (Chromium's by
about 60 ms). The studio's own file of the same guest holds the same sound and picture, so
the alignment measures both offsets; where they differ, one stream of the guest file is
moved later by the difference (packet times only, nothing re-encoded) so that its sound
and picture sit together as they do in the studio's file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import av

from ..media.remux import probe, remux
from .alignment import align

log = logging.getLogger(__name__)

# Below this the correction is smaller than the measurement's own spread: left alone.
MIN_SHIFT_MS = 5
# The picture is only matched within 150 ms of the sound; more than this is no skew.
MAX_SHIFT_MS = 150


@dataclass(frozen=True)
class Finalized:
    file: Path
    packets: dict[str, int]
    codecs: dict[str, str | None]
    container: str  # "matroska" | "mp4"
    studio_offset: dict
    av_shift: dict


def container_of(path: Path) -> str:
    """"mp4" for the MP4/QuickTime family (Safari), else "matroska" (WebM included)."""
    with av.open(str(path)) as source:
        names = set(source.format.name.split(","))
    return "mp4" if names & {"mov", "mp4"} else "matroska"


def final_extension(codecs: dict[str, str | None], container: str = "matroska") -> str:
    """WebM takes VP8/VP9/AV1 and Opus; H.264 and PCM go into Matroska (.mka without
    video); what came as MP4 stays MP4 (.m4a without video)."""
    video, audio = codecs.get("video"), codecs.get("audio")
    if container == "mp4":
        return "mp4" if video else "m4a"
    webm_ok = video in (None, "vp8", "vp9", "av1") and audio in (None, "opus")
    if webm_ok:
        return "webm"
    return "mkv" if video else "mka"


def muxer_for(ext: str) -> tuple[str, dict[str, str]]:
    if ext in ("mp4", "m4a"):
        return "mp4", {"movflags": "+faststart"}  # index first: plays while it downloads
    return ("webm" if ext == "webm" else "matroska"), {}


def lip_sync_shift(offset: dict) -> dict:
    """Which stream to move later and by how much (the sidecar's `av_shift_ms`), from the
    alignment's `guest_av_skew_ms`: > 0 when the guest file's sound comes later against
    its picture than in the studio's file."""
    skew = offset.get("guest_av_skew_ms")
    if not isinstance(skew, int | float):
        return {"moved": None, "by_ms": 0, "note": "not measured: no studio file to compare with, "
                "or its picture could not be matched (no sudden brightness changes, too little motion)"}
    shift = {"measured_skew_ms": skew, "against": offset.get("studio_file"),
             "sound_vs_picture": "later" if skew > 0 else "earlier"}
    by = round(abs(skew))
    if by < MIN_SHIFT_MS:
        return {**shift, "moved": None, "by_ms": 0, "note": "already within the measurement's spread"}
    if by > MAX_SHIFT_MS:
        return {**shift, "moved": None, "by_ms": 0, "note": "too large to be the recorder's skew"}
    # Only ever later: nothing gets a time before the file's start. Late sound is met by a
    # later picture, early sound by later sound.
    return {**shift, "moved": "video" if skew > 0 else "audio", "by_ms": by}


def corrected_offset(offset: dict, shift: dict) -> dict:
    """The alignment block as it stands for the shifted file."""
    moved, by = shift.get("moved"), shift.get("by_ms", 0) / 1000.0
    if moved is None:
        return offset
    fixed = dict(offset)
    if moved == "video":
        fixed["video_seconds"] = round(offset["video_seconds"] - by, 4)
    else:
        fixed["seconds"] = round(offset["seconds"] - by, 4)
    fixed["guest_av_skew_ms"] = round((fixed["video_seconds"] - fixed["seconds"]) * 1000, 1)
    return fixed


def finalize(part: Path, studio: Path | None, recorder_started_ms: float | None,
             page_minus_studio_ms: float | None) -> Finalized:
    """Write the final file beside `part` (which stays; the caller removes it)."""
    codecs = probe(part)
    container = container_of(part)
    ext = final_extension(codecs, container)
    final = part.with_suffix("." + ext)
    tmp = final.with_name(final.name + ".tmp")
    fmt, options = muxer_for(ext)
    packets = remux(part, tmp, fmt, options=options, monotonic=True)
    try:
        offset = align(tmp, studio, recorder_started_ms, page_minus_studio_ms)
        shift = lip_sync_shift(offset)
        if shift["moved"] is not None:
            shifted = final.with_name(final.name + ".shifted.tmp")
            remux(part, shifted, fmt, options=options, monotonic=True,
                  delays={shift["moved"]: shift["by_ms"] / 1000.0})
            os.replace(shifted, tmp)
            offset = corrected_offset(offset, shift)
            log.info("%s: %s moved %d ms later for lip sync", final.name, shift["moved"], shift["by_ms"])
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Finalized(final, packets, codecs, container, offset, shift)
