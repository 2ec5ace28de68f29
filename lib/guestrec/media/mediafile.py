"""One recording file: a Matroska/WebM container with at most one video and one audio stream.

Streams are either encoded here (transcode) or take packets as received (copy). The muxer
writes a cluster at least every second and flushes it at once, so a process killed without
warning leaves a file that plays up to about a second before the kill; closing writes the
duration and the cues.

Timestamps handed in are in the stream clocks: video 1/90000, audio 1/48000 (samples).
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field
from pathlib import Path

import av

from .encoders import ENCODER_NAMES, KEYFRAME_SECONDS, NOMINAL_FPS, audio_options, video_options

VIDEO_TB = fractions.Fraction(1, 90_000)
AUDIO_TB = fractions.Fraction(1, 48_000)
AUDIO_RATE = 48_000
OPUS_FRAME = 960

MUXER_OPTIONS = {
    "cluster_time_limit": "1000",  # ms: a cluster (and a flush to disk) at least every second
    "cluster_size_limit": "4194304",
    "flush_packets": "1",
    "max_interleave_delta": "500000",  # µs: never hold one stream back long for the other
}


@dataclass
class VideoSpec:
    codec: str  # vp8 | vp9 | av1 | h264
    width: int
    height: int
    copy: bool
    kbps: int | None = None


@dataclass
class AudioSpec:
    codec: str  # opus | pcm_f32le
    copy: bool
    kbps: int | None = None


@dataclass
class StreamStats:
    packets: int = 0
    bytes: int = 0
    first_pts: int | None = None
    end_pts: int | None = None  # pts + duration of the last packet
    frames_in: int = 0  # frames (video) or samples (audio) handed in

    def add(self, size: int, pts: int, duration: int) -> None:
        self.packets += 1
        self.bytes += size
        if self.first_pts is None:
            self.first_pts = pts
        end = pts + duration
        if self.end_pts is None or end > self.end_pts:
            self.end_pts = end


@dataclass
class FileStats:
    video: StreamStats = field(default_factory=StreamStats)
    audio: StreamStats = field(default_factory=StreamStats)


def container_format(ext: str) -> str:
    return "webm" if ext == "webm" else "matroska"


class MediaFile:
    def __init__(
        self, path: Path, video: VideoSpec | None, audio: AudioSpec | None,
    ) -> None:
        self.path = Path(path)
        self.video_spec = video
        self.audio_spec = audio
        self.stats = FileStats()
        self._last_video_pts = -90  # so the first frame may sit at 0
        self._closed = False
        fmt = container_format(self.path.suffix.lstrip("."))
        self.container = av.open(str(self.path), "w", format=fmt, options=dict(MUXER_OPTIONS))
        self.video_stream = self._add_video(video) if video else None
        self.audio_stream = self._add_audio(audio) if audio else None

    # -- set-up ----------------------------------------------------------------------

    def _add_video(self, spec: VideoSpec):
        if spec.copy:
            stream = self.container.add_mux_stream(spec.codec, width=spec.width, height=spec.height)
            stream.time_base = fractions.Fraction(1, 1000)
            return stream
        kbps = spec.kbps or 6000
        stream = self.container.add_stream(
            ENCODER_NAMES[spec.codec], rate=NOMINAL_FPS,
            width=spec.width, height=spec.height, bit_rate=kbps * 1000, time_base=VIDEO_TB,
        )
        ctx = stream.codec_context
        ctx.pix_fmt = "yuv420p"
        ctx.gop_size = KEYFRAME_SECONDS * NOMINAL_FPS
        ctx.options = video_options(spec.codec, kbps)
        return stream

    def _add_audio(self, spec: AudioSpec):
        if spec.codec == "pcm_f32le":
            stream = self.container.add_stream("pcm_f32le", rate=AUDIO_RATE, time_base=AUDIO_TB)
            stream.codec_context.layout = "stereo"
            stream.codec_context.format = "flt"
            return stream
        # Opus. For copy the encoder is opened only for its stream header (OpusHead);
        # the packets written are the guest's own.
        stream = self.container.add_stream("libopus", rate=AUDIO_RATE, time_base=AUDIO_TB)
        ctx = stream.codec_context
        ctx.layout = "stereo"
        ctx.format = "flt"
        ctx.bit_rate = (spec.kbps or 128) * 1000
        ctx.options = audio_options("opus")
        return stream

    # -- video -----------------------------------------------------------------------

    def _video_pts(self, pts: int) -> int:
        # Strictly increasing, whatever jitter the source has; by at least 1 ms, the
        # clock of WebM/Matroska, or two frames share a timestamp in the file.
        if pts < self._last_video_pts + 90:
            pts = self._last_video_pts + 90
        self._last_video_pts = pts
        return pts

    def encode_video(self, frame: av.VideoFrame, pts: int, keyframe: bool = False) -> None:
        assert self.video_stream is not None
        frame.pts = self._video_pts(pts)
        frame.time_base = VIDEO_TB
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        self.stats.video.frames_in += 1
        self._mux_encoded(self.video_stream, self.video_stream.codec_context.encode(frame), True)

    def write_video_packet(self, data: bytes, pts: int, keyframe: bool) -> None:
        assert self.video_stream is not None
        packet = av.Packet(data)
        packet.pts = packet.dts = self._video_pts(pts)
        packet.time_base = VIDEO_TB
        packet.is_keyframe = keyframe
        packet.stream = self.video_stream
        self.stats.video.frames_in += 1
        self.stats.video.add(len(data), packet.pts, 0)
        self.container.mux(packet)

    # -- audio -----------------------------------------------------------------------

    def encode_audio(self, frame: av.AudioFrame) -> None:
        """`frame` is flt stereo 48 kHz with pts in samples."""
        assert self.audio_stream is not None
        frame.time_base = AUDIO_TB
        self.stats.audio.frames_in += frame.samples
        self._mux_encoded(self.audio_stream, self.audio_stream.codec_context.encode(frame), False)

    def write_audio_packet(self, data: bytes, pts: int, samples: int) -> None:
        assert self.audio_stream is not None
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.duration = samples
        packet.time_base = AUDIO_TB
        packet.is_keyframe = True
        packet.stream = self.audio_stream
        self.stats.audio.frames_in += samples
        self.stats.audio.add(len(data), pts, samples)
        self.container.mux(packet)

    # -- common ----------------------------------------------------------------------

    def _mux_encoded(self, stream, packets, video: bool) -> None:
        target = self.stats.video if video else self.stats.audio
        for packet in packets:
            packet.stream = stream
            # Stats in the stream clock (90 kHz / samples), read before muxing rebases.
            tb = packet.time_base
            clock = VIDEO_TB if video else AUDIO_TB
            pts = int((packet.pts or 0) * tb / clock) if tb is not None else 0
            dur = int((packet.duration or 0) * tb / clock) if tb is not None else 0
            target.add(packet.size, pts, dur)
            self.container.mux(packet)

    def flush_encoders(self) -> None:
        for stream, video in ((self.video_stream, True), (self.audio_stream, False)):
            if stream is None or stream.codec_context is None:
                continue
            spec = self.video_spec if video else self.audio_spec
            if spec is None or spec.copy:
                continue
            if not stream.codec_context.is_open:
                continue
            self._mux_encoded(stream, stream.codec_context.encode(None), video)

    def close(self) -> None:
        """Flush the encoders and write the trailer (duration, cues)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush_encoders()
        finally:
            self.container.close()

    def abandon(self) -> None:
        """Close after a write error: best effort, the file stays as far as it got."""
        if self._closed:
            return
        self._closed = True
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the trailer cannot be written either (disk full)
            pass

    @property
    def bytes_written(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0
