"""What a guest may make the studio allocate: picture size and frame rates.

A frame's header names its picture size (VP8 key frames, H.264 sequence parameter sets)
and a decoder allocates for that size before it reads any picture data: a forged
16383x16383 key frame costs about 0.4 GB per picture buffer. The tap checks every
frame against these limits before aiortc's decoder or a copy recording sees it.

Sizes are compared without regard to orientation, so a portrait 2160x3840 phone camera
passes where 3840x2160 does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bitstream import H264_SPS, h264_nal_units, h264_sps_size, vp8_frame_size


@dataclass(frozen=True)
class MediaLimits:
    max_width: int = 3840
    max_height: int = 2160
    max_video_fps: float = 120.0  # frames leaving the jitter buffer per second
    max_audio_packets_per_second: float = 500.0  # Opus frames are at least 2.5 ms

    def size_problem(self, width: int, height: int) -> str | None:
        """Why a picture of this size is refused; None when it is accepted."""
        long_side, short_side = max(width, height), min(width, height)
        allowed_long = max(self.max_width, self.max_height)
        allowed_short = min(self.max_width, self.max_height)
        if width <= 0 or height <= 0:
            return f"video frame size {width}x{height} is invalid"
        if long_side > allowed_long or short_side > allowed_short:
            return (
                f"video frame size {width}x{height} is larger than the studio accepts "
                f"({self.max_width}x{self.max_height})"
            )
        return None

    def rate_limit(self, kind: str) -> float:
        return self.max_video_fps if kind == "video" else self.max_audio_packets_per_second


DEFAULT_LIMITS = MediaLimits()


def declared_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """The picture size a frame declares (VP8 key frame, H.264 SPS); None if it names none.

    An H.264 SPS that cannot be parsed declares an impossible size (0x0): a decoder
    would still try it, so it is refused rather than passed.
    """
    if codec == "vp8":
        return vp8_frame_size(data)
    if codec == "h264":
        size = None
        for unit in h264_nal_units(data):
            if unit[0] & 0x1F == H264_SPS:
                parsed = h264_sps_size(unit)
                if parsed is None:
                    return (0, 0)
                size = parsed if size is None else (max(size[0], parsed[0]), max(size[1], parsed[1]))
        return size
    return None
