"""The media pipeline: taps aiortc receivers, one A/V timeline per guest, ISO recordings.

    tap.py          sees encoded frames and RTCP sender reports of an RTCRtpReceiver
    timeline.py     RTP timestamps -> one timeline through the sender reports
    bitstream.py    keyframes and sizes of VP8 / H.264, Opus packet lengths
    encoders.py     codec settings (bitrate control, real-time speed)
    mediafile.py    one Matroska/WebM file, encoded or copied streams
    audioline.py    decoded audio onto a gapless sample line
    videofit.py     keeps one picture size per file
    writer.py       the worker thread of a recording: files, splits, errors
    sidecar.py      the JSON summary beside each file
    recorder.py     the loop side of a recording
    guest_media.py  GuestMedia: what the session layer uses
"""

from .guest_media import GuestMedia

__all__ = ["GuestMedia"]
