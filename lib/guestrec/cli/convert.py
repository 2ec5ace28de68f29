"""Convert a recording to another container by stream copy; never re-encodes.

    to     takes                                  writes
    opus   the Opus audio                         Ogg Opus (.opus)
    wav    the PCM audio                          WAV, 32-bit float (.wav)
    mka    the audio (Opus or PCM)                Matroska audio (.mka)
    mp4    video VP9 / AV1 / H.264 (+ Opus/PCM)   MP4 (.mp4)
    webm   video VP8 / VP9 / AV1 + Opus audio     WebM (.webm)

Anything else would need re-encoding and is refused with ConversionError saying why.
"""

from __future__ import annotations

from pathlib import Path

import av

from ..media.remux import probe, remux, replace_atomically

TARGETS = ("opus", "wav", "mka", "mp4", "webm")
_FORMAT = {"opus": "opus", "wav": "wav", "mka": "matroska", "mp4": "mp4", "webm": "webm"}
MP4_VIDEO = ("vp9", "av1", "h264")
MP4_AUDIO = ("opus", "pcm_f32le")  # FFmpeg 8 maps both (Opus-in-ISOBMFF, ISO 23003-5 fpcm)
WEBM_VIDEO = ("vp8", "vp9", "av1")


class ConversionError(ValueError):
    """A conversion that cannot be done without re-encoding, or an unusable input."""


def _plan(source: Path, to: str, streams: dict[str, str | None]) -> tuple[str, ...]:
    """Which stream kinds to copy; raises ConversionError when the target cannot hold them."""
    video, audio = streams["video"], streams["audio"]
    name = source.name
    if to == "opus":
        if audio != "opus":
            why = "it has no audio" if audio is None else f"its audio is {audio}, not Opus"
            hint = " (convert PCM to .wav or .mka)" if audio and audio.startswith("pcm") else ""
            raise ConversionError(f"{name} cannot become .opus without re-encoding: {why}{hint}")
        return ("audio",)
    if to == "wav":
        if audio is None or not audio.startswith("pcm"):
            why = "it has no audio" if audio is None else f"its audio is {audio}, and WAV holds PCM"
            raise ConversionError(
                f"{name} cannot become .wav without decoding: {why} (use .opus or .mka)"
            )
        return ("audio",)
    if to == "mka":
        if audio is None:
            raise ConversionError(f"{name} has no audio to put into .mka")
        return ("audio",)
    if to == "mp4":
        if video is not None and video not in MP4_VIDEO:
            raise ConversionError(
                f"{name} cannot become .mp4 without re-encoding: its video is {video.upper()}, "
                f"which FFmpeg cannot store in MP4 (keep .webm or use .mkv; MP4 takes "
                f"VP9, AV1 or H.264 recordings)"
            )
        if audio is not None and audio not in MP4_AUDIO:
            raise ConversionError(
                f"{name} cannot become .mp4 without re-encoding: its audio is {audio}, "
                f"which MP4 does not hold (use .mkv/.mka)"
            )
    elif to == "webm":
        if video is not None and video not in WEBM_VIDEO:
            raise ConversionError(
                f"{name} cannot become .webm without re-encoding: WebM holds VP8, VP9 or AV1 "
                f"video, not {video.upper()} (use .mkv or .mp4)"
            )
        if audio is not None and audio != "opus":
            raise ConversionError(
                f"{name} cannot become .webm without re-encoding: WebM holds Opus audio, "
                f"not {audio} (use .mka/.mkv or .wav)"
            )
    else:
        raise ConversionError(f"unknown target {to!r}: choose one of {', '.join(TARGETS)}")
    if video is None and audio is None:
        raise ConversionError(f"{name} has no audio or video")
    return tuple(k for k, c in (("video", video), ("audio", audio)) if c)


def convert_file(path: Path | str, to: str, out: Path | None = None) -> Path:
    source = Path(path)
    to = to.lower().lstrip(".")
    if to not in TARGETS:
        raise ConversionError(f"unknown target {to!r}: choose one of {', '.join(TARGETS)}")
    if not source.is_file():
        raise ConversionError(f"no such file: {source}")
    try:
        streams = probe(source)
    except av.FFmpegError as exc:
        raise ConversionError(f"{source.name} is not a readable recording: {exc}") from exc
    kinds = _plan(source, to, streams)
    target = Path(out) if out is not None else source.with_suffix(f".{to}")
    if target.resolve() == source.resolve():
        target = source.with_name(f"{source.stem}-converted.{to}")
    tmp = target.with_name(f".{target.name}.converting")
    options = {"movflags": "+faststart"} if to == "mp4" else None
    try:
        remux(source, tmp, _FORMAT[to], kinds, options=options)
    except OSError:
        raise  # unwritable target folder and the like: not a conversion problem
    except ValueError as exc:  # PyAV: the format refuses the codec
        raise ConversionError(f"{source.name} cannot become .{to} without re-encoding: {exc}") from exc
    except av.FFmpegError as exc:
        raise ConversionError(f"converting {source.name} to .{to} failed: {exc}") from exc
    replace_atomically(tmp, target)
    return target
