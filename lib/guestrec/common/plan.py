"""The record plan: what to ask of a guest and what to write, from the `&record` settings.

Pure functions only; the table in the `&record` spec is the contract:

    value   video            audio written
    0       none             32-bit float PCM (lossless)
    -N      none             Opus at N kbps
    N > 0   N kbps           Opus by the threshold table
    unset   6000 kbps        Opus 128 kbps

Thresholds (video kbps -> inbound audio asked of the guest / audio written):
>= 4000: 128 / 128; >= 2500: 80 / 128; below 2500: 32 / 32.
With pcm the inbound audio is 256 kbps whatever the video bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VIDEO_KBPS = 6000
PCM_INBOUND_AUDIO_KBPS = 256
VIDEO_CODECS = ("vp8", "vp9", "av1", "h264")
RECORD_CODECS = (*VIDEO_CODECS, "copy")
# Opus itself accepts 6..510 kbps; outside that an encoder would clamp silently.
OPUS_MIN_KBPS = 6
OPUS_MAX_KBPS = 510
# Above this a value is almost surely a typo (bit/s instead of kbps).
MAX_VIDEO_KBPS = 100_000


class RecordSettingsError(ValueError):
    """A record value, codec or flag combination that cannot be recorded."""


@dataclass(frozen=True)
class RecordPlan:
    """Everything the session and the recorder need to know about one recording."""

    video: bool
    video_kbps: int | None  # None when no video is written
    video_codec: str | None  # "vp8" | "vp9" | "av1" | "h264" | "copy"; None without video
    audio_codec: str  # "opus" | "pcm_f32le"
    audio_kbps: int | None  # Opus bitrate written; None for PCM or when Opus is copied
    inbound_audio_kbps: int  # asked of the guest in the SDP answer (maxaveragebitrate)
    container: str  # file extension without dot: "webm" | "mkv" | "mka"
    copy: bool  # write the received bitstream without re-encoding

    @property
    def inbound_audio_bps(self) -> int:
        return self.inbound_audio_kbps * 1000

    @property
    def video_bps(self) -> int | None:
        return None if self.video_kbps is None else self.video_kbps * 1000

    @property
    def mode(self) -> str:
        """A short human name: "video", "audio-opus" or "audio-pcm"."""
        if self.video:
            return "video"
        return "audio-pcm" if self.audio_codec == "pcm_f32le" else "audio-opus"


def parse_record_value(value: str | int | None) -> int | None:
    """Turn a `&record` value as a user types it into an int, or None for unset.

    Accepts ints and strings such as "6000", " -120 ", "+2500"; "" means unset.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordSettingsError(f"record value must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            return int(text, 10)
        except ValueError:
            raise RecordSettingsError(
                f"record value must be an integer (0, -N or N kbps), got {value!r}"
            ) from None
    raise RecordSettingsError(f"record value must be an integer, not {type(value).__name__}")


def video_audio_thresholds(video_kbps: int) -> tuple[int, int]:
    """(inbound audio kbps, recorded audio kbps) for a video bitrate, per the spec table."""
    if video_kbps >= 4000:
        return 128, 128
    if video_kbps >= 2500:
        return 80, 128
    return 32, 32


def make_plan(
    record: str | int | None = None, *, pcm: bool = False, codec: str = "vp8"
) -> RecordPlan:
    """Build the plan for one `&record` value, the `&pcm` flag and a record codec."""
    value = parse_record_value(record)
    codec_name = (codec or "vp8").strip().lower()
    if codec_name not in RECORD_CODECS:
        raise RecordSettingsError(
            f"record codec must be one of {', '.join(RECORD_CODECS)}, got {codec!r}"
        )
    copy = codec_name == "copy"

    if value == 0:
        return RecordPlan(
            video=False, video_kbps=None, video_codec=None,
            audio_codec="pcm_f32le", audio_kbps=None,
            inbound_audio_kbps=PCM_INBOUND_AUDIO_KBPS, container="mka", copy=copy,
        )

    if value is not None and value < 0:
        kbps = -value
        if not OPUS_MIN_KBPS <= kbps <= OPUS_MAX_KBPS:
            raise RecordSettingsError(
                f"audio-only Opus bitrate must be {OPUS_MIN_KBPS}..{OPUS_MAX_KBPS} kbps, got {kbps}"
            )
        if pcm:
            return RecordPlan(
                video=False, video_kbps=None, video_codec=None,
                audio_codec="pcm_f32le", audio_kbps=None,
                inbound_audio_kbps=PCM_INBOUND_AUDIO_KBPS, container="mka", copy=copy,
            )
        return RecordPlan(
            video=False, video_kbps=None, video_codec=None,
            audio_codec="opus", audio_kbps=None if copy else kbps,
            inbound_audio_kbps=kbps, container="webm", copy=copy,
        )

    video_kbps = DEFAULT_VIDEO_KBPS if value is None else value
    if video_kbps > MAX_VIDEO_KBPS:
        raise RecordSettingsError(
            f"video bitrate {video_kbps} kbps is above {MAX_VIDEO_KBPS}; the value is in kbps"
        )
    inbound, written = video_audio_thresholds(video_kbps)
    if pcm:
        inbound = PCM_INBOUND_AUDIO_KBPS
    audio_codec = "pcm_f32le" if pcm else "opus"
    audio_kbps = None if (pcm or copy) else written
    # WebM holds only VP8/VP9/AV1 with Opus/Vorbis; copy mode learns the codec later
    # and the recorder picks webm or mkv then, so "webm" here is only the hope.
    webm_ok = codec_name in ("vp8", "vp9", "av1", "copy") and not pcm
    return RecordPlan(
        video=True, video_kbps=video_kbps, video_codec=codec_name,
        audio_codec=audio_codec, audio_kbps=audio_kbps,
        inbound_audio_kbps=inbound, container="webm" if webm_ok else "mkv", copy=copy,
    )
