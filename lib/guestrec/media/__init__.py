"""The media pipeline: taps aiortc receivers, one A/V timeline per guest, ISO recordings.

    direct_receive.py   RTP taken where aioice hands it over, the receiver's work done there
                        (no task switch per packet; no REMB for a Janus subscription)
    socket_reads.py     a media socket read in batches into datagram-sized buffers
    tap.py              sees encoded frames and RTCP sender reports of an RTCRtpReceiver
    timeline.py         RTP timestamps -> one timeline through the sender reports
    bitstream.py        keyframes and sizes of VP8 / H.264, Opus packet lengths
    limits.py           the picture size and frame rate a guest may make us allocate for
    log_bound.py        bounded logging of what guests can trigger at will
    encoders.py         codec settings (bitrate control, real-time speed)
    mediafile.py        one Matroska/WebM file, encoded or copied streams
    audioline.py        decoded audio onto a gapless sample line
    videofit.py         keeps one picture size per file
    item.py             one frame or audio of a guest, on its way to the writer
    studio_recorder.py  the loop side of a recording: what to feed, its timing, the queue
    writer.py           the worker thread of a recording: queue, start, end, errors
    segments.py         its files: opening, splitting, draining, closing with sidecars
    video_path.py       its video: start frames, file video settings, positions, writing
    audio_path.py       its audio: decoded or copied, routed across a split's seam
    ledger.py           where every received frame went: written, or dropped and why
    storage.py          the folder a recording writes into, watched (deleted, read-only)
    summary.py          the sidecar summary of one file
    sidecar.py          the JSON beside each file, rewritten in place
    positioned_file.py  writing at an offset, the same way on Linux, macOS and Windows
    remux.py            stream copy from one container to another
    guest_media.py      GuestMedia: what the guest core uses
"""

from .guest_media import GuestMedia

__all__ = ["GuestMedia"]
