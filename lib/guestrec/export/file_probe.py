"""What a media file holds and how long it lasts, read from the file (PyAV), not the sidecar.

A file cut short by a crash has no duration in its header: then the packets are read (no
decoding) up to the last one.
"""

from __future__ import annotations

from pathlib import Path

import av

from .errors import ExportError
from .model import Probe


def probe_file(path: Path) -> Probe:
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise ExportError(f"{path.name} holds neither sound nor picture")
            first = (container.start_time or 0) / av.time_base if container.start_time else 0.0
            duration = container.duration / av.time_base if container.duration else None
            if not duration:
                duration = _last_packet_end(container) - first
            return Probe(
                duration=max(0.0, float(duration)),
                has_video=video is not None,
                has_audio=audio is not None,
                first_time=float(first),
                frame_rate=float(video.average_rate) if video is not None and video.average_rate else None,
                width=video.codec_context.width if video is not None else None,
                height=video.codec_context.height if video is not None else None,
                sample_rate=audio.codec_context.sample_rate if audio is not None else None,
                channels=audio.codec_context.channels if audio is not None else None,
                video_codec=video.codec_context.name if video is not None else None,
                audio_codec=audio.codec_context.name if audio is not None else None,
            )
    except av.FFmpegError as exc:
        raise ExportError(f"{path.name} cannot be read: {exc}") from exc


def _last_packet_end(container: av.container.InputContainer) -> float:
    end = 0.0
    for packet in container.demux():
        if packet.pts is None or packet.time_base is None:
            continue
        span = (packet.pts + (packet.duration or 0)) * packet.time_base
        end = max(end, float(span))
    return end
