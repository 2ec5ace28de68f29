"""What the guest's own browser records for a record plan (the spec's sender-side &record).

The guest page picks the first MIME type its MediaRecorder supports from `mime_types`, so
the order is the fallback order. After the plan's own codec come the others, cheapest for
the guest's CPU first: measured with Chromium at 720p30 beside the live stream, an H.264
recorder took 78% of a core and both encodes held 30 fps, while a VP8 recorder took a whole
core and dropped the live stream to 18 fps (tests/bench/bench_guest_recorder.py). Last come
the MP4 types: a Safari whose MediaRecorder makes no WebM records fragmented MP4 (H.264 and
AAC), which the studio finalizes as an MP4.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.plan import RecordPlan, video_audio_thresholds

# Fallback order after the plan's codec: guest CPU per recorder, cheapest first.
CODECS_BY_GUEST_CPU = ("h264", "vp8", "vp9", "av1")
PCM_KBPS = 48_000 * 2 * 32 // 1000  # stereo float32 at 48 kHz: 3072 kbps
# After every WebM type: what Safari's MediaRecorder makes (the bare type last, for a
# browser that answers no to any codecs= parameter).
VIDEO_MP4 = ("video/mp4;codecs=avc1,mp4a.40.2", "video/mp4")
AUDIO_MP4 = ("audio/mp4;codecs=mp4a.40.2", "audio/mp4")


@dataclass(frozen=True)
class GuestRecording:
    """The MediaRecorder settings asked of one guest."""

    video: bool
    mime_types: tuple[str, ...]  # in order of preference
    video_bps: int | None
    audio_bps: int | None  # None with PCM (MediaRecorder ignores it there)
    pcm: bool

    @property
    def max_kbps(self) -> int:
        """The highest total bitrate the recorder may write (before overshoot slack)."""
        audio = PCM_KBPS if self.pcm else (self.audio_bps or 0) // 1000
        return (self.video_bps or 0) // 1000 + audio

    def as_message(self) -> dict:
        return {
            "video": self.video,
            "mimeTypes": list(self.mime_types),
            "videoBitsPerSecond": self.video_bps,
            "audioBitsPerSecond": self.audio_bps,
            "pcm": self.pcm,
        }


def _video_mime(codec: str, audio: str) -> str:
    return f"video/webm;codecs={codec},{audio}"


def guest_recording(plan: RecordPlan) -> GuestRecording:
    """The guest-side recording for a plan: same bitrate, audio by the spec's column."""
    pcm = plan.audio_codec == "pcm_f32le"
    audio_name = "pcm" if pcm else "opus"
    if not plan.video:
        # An audio/* type needs a stream without video: the page records its audio track only.
        audio_bps = None if pcm else plan.inbound_audio_kbps * 1000  # -N: N kbps Opus
        # MP4 has no PCM from a browser: Safari records AAC at its own rate then.
        mimes = (f"audio/webm;codecs={audio_name}", *AUDIO_MP4)
        return GuestRecording(False, mimes, None, audio_bps, pcm)
    video_kbps = plan.video_kbps or 0
    _, recorded_audio = video_audio_thresholds(video_kbps)
    first = plan.video_codec if plan.video_codec in CODECS_BY_GUEST_CPU else "vp8"  # copy: VP8
    order = (first, *(c for c in CODECS_BY_GUEST_CPU if c != first))
    mimes = (*(_video_mime(codec, audio_name) for codec in order), *VIDEO_MP4)
    return GuestRecording(
        True, mimes, video_kbps * 1000, None if pcm else recorded_audio * 1000, pcm
    )
