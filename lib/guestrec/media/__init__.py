"""The media pipeline: taps aiortc receivers, one A/V timeline per guest, ISO recordings.

    tap.py          sees encoded frames and RTCP sender reports of an RTCRtpReceiver
    timeline.py     RTP timestamps -> one timeline through the sender reports
    bitstream.py    keyframes and sizes of VP8 / H.264, Opus packet lengths
    encoders.py     codec settings (bitrate control, real-time speed)
    mediafile.py    one Matroska/WebM file, encoded or copied streams
    audioline.py    decoded audio onto a gapless sample line
    videofit.py     keeps one picture size per file
    item.py         one frame or audio of a guest, on its way to the writer
    writer.py       the worker thread of a recording: queue, start, end, errors
    segments.py     its files: opening, splitting, draining, closing with sidecars
    video_path.py   its video: start frames, file video settings, positions, writing
    audio_path.py   its audio: decoded or copied, routed across a split's seam
    sidecar.py      the JSON summary beside each file
    recorder.py     the loop side of a recording
    guest_media.py  GuestMedia: what the session layer uses
"""

from .guest_media import GuestMedia

__all__ = ["GuestMedia"]
