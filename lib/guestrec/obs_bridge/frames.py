"""Decoded frames -> the memory layouts OBS takes (I420 video, float planar stereo audio).

Pure PyAV; no libobs, so it is tested on its own. The returned objects keep the PyAV
frames alive: the plane pointers stay valid as long as the object does.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

from . import libobs as L

I420_NAMES = ("yuv420p", "yuvj420p")
OBS_AUDIO_RATE = 48000

# FFmpeg's AVColorSpace values that mean BT.709; everything else is shown as BT.601,
# which is what browsers' VP8 and most WebRTC H.264 streams are when unsignalled.
_AVCOL_SPC_BT709 = 1
_AVCOL_RANGE_JPEG = 2


@dataclass
class I420Frame:
    frame: av.VideoFrame  # owner of the plane memory
    pointers: tuple[int, int, int]
    linesizes: tuple[int, int, int]
    width: int
    height: int
    colorspace: int  # OBS video_colorspace
    range: int  # OBS video_range_type


def to_i420(frame: av.VideoFrame) -> I420Frame:
    """The frame as I420 planes, converting only when it is in another pixel format."""
    full = frame.format.name == "yuvj420p" or frame.color_range == _AVCOL_RANGE_JPEG
    colorspace = L.VIDEO_CS_709 if frame.colorspace == _AVCOL_SPC_BT709 else L.VIDEO_CS_601
    if frame.format.name not in I420_NAMES:
        # swscale writes limited-range BT.601 unless told otherwise.
        frame = frame.reformat(format="yuv420p", threads=1)
        full, colorspace = False, L.VIDEO_CS_601
    planes = frame.planes
    return I420Frame(
        frame=frame,
        pointers=(planes[0].buffer_ptr, planes[1].buffer_ptr, planes[2].buffer_ptr),
        linesizes=(planes[0].line_size, planes[1].line_size, planes[2].line_size),
        width=frame.width,
        height=frame.height,
        colorspace=colorspace,
        range=L.VIDEO_RANGE_FULL if full else L.VIDEO_RANGE_PARTIAL,
    )


@dataclass
class PlanarAudio:
    frame: av.AudioFrame  # owner of the sample memory
    pointers: tuple[int, ...]  # one plane per channel, float32
    samples: int
    timestamp_ns: int


class AudioConverter:
    """Any decoded audio -> float planar stereo at 48 kHz, for one guest's stream.

    Keeps one resampler per stream (it carries filter state between frames) and makes a
    new one if the input format changes mid-stream, e.g. a guest switching microphones.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._input_key: tuple[str, str, int] | None = None

    def convert(self, frame: av.AudioFrame, timestamp_ns: int) -> list[PlanarAudio]:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        if key == ("fltp", "stereo", OBS_AUDIO_RATE):
            return [self._planar(frame, timestamp_ns)]
        if self._resampler is None or key != self._input_key:
            self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=OBS_AUDIO_RATE)
            self._input_key = key
        # The resampler keys its output on pts; a fresh pts each call keeps it from
        # inventing gaps. Our timing comes from timestamp_ns, not from pts.
        frame.pts = None
        out: list[PlanarAudio] = []
        offset_ns = 0
        for converted in self._resampler.resample(frame):
            out.append(self._planar(converted, timestamp_ns + offset_ns))
            offset_ns += converted.samples * 1_000_000_000 // OBS_AUDIO_RATE
        return out

    @staticmethod
    def _planar(frame: av.AudioFrame, timestamp_ns: int) -> PlanarAudio:
        return PlanarAudio(
            frame=frame,
            pointers=tuple(plane.buffer_ptr for plane in frame.planes),
            samples=frame.samples,
            timestamp_ns=timestamp_ns,
        )
