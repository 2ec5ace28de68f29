"""The audio path of a recording: decoded audio through the gapless sample line, or
copied Opus packets with silence filling their gaps, each sent to the file(s) covering it
(the old file still takes audio up to a split's seam).

A mixin of RecordingWriter (writer.py): it works on the writer's worker-thread state.
"""

from __future__ import annotations

import time

import av
import numpy as np

from . import audioline
from .bitstream import opus_packet_samples
from .item import Item


class AudioPath:
    """Audio into the current (and draining) file of a RecordingWriter."""

    @property
    def _audio_copy(self) -> bool:
        return self.plan.copy and self.plan.audio_codec == "opus"

    def _audio(self, item: Item) -> None:
        if not self.audio_on or self.t0 is None:
            return
        cur = self.current
        if (
            self._next_split_t is not None and cur is not None
            and cur.file.video_stream is None and item.t >= self._next_split_t
        ):
            self._rotate(item, "split")  # no video in this file: split on the audio
        position = round((item.t - self.t0) * 48_000)
        if self._audio_copy:
            if self._audio_copy_packet(item, position):
                self.ledgers["audio"].wrote(item.rtp)
            elif item.rtp is not None:
                self.ledgers["audio"].dropped(item.rtp, "overlap")
            return
        self.ledgers["audio"].wrote(item.rtp)
        assert self._audio_line is not None and isinstance(item.frame, av.AudioFrame)
        for pos, samples in self._audio_line.push(item.frame, position):
            self._route_audio_chunk(pos, samples)
        self.audio_gaps = self._audio_line.gaps
        self.audio_gap_samples = self._audio_line.gap_samples

    def _route_audio_chunk(self, pos: int, samples: np.ndarray) -> None:
        """Send line samples [pos, pos+n) to the file(s) that cover them."""
        cur = self.current
        if cur is None:
            return
        end = pos + len(samples)
        if pos < cur.audio_start:
            old = self.draining
            cut = min(len(samples), cur.audio_start - pos)
            if old is not None and old.file.audio_stream is not None:
                old.file.encode_audio(audioline.make_frame(samples[:cut], pos - old.audio_start))
            samples, pos = samples[cut:], pos + cut
            if end >= cur.audio_start:  # the seam is reached
                self._end_drain()
        if len(samples) and cur.file.audio_stream is not None:
            cur.file.encode_audio(audioline.make_frame(samples, pos - cur.audio_start))

    def _silence_packet(self) -> bytes:
        """One 20 ms stereo Opus packet of silence, to fill gaps in copied audio."""
        if self._silence is None:
            enc = av.CodecContext.create("libopus", "w")
            enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 48_000, "stereo", "flt", 32_000
            packets = []
            for i in range(4):
                frame = audioline.make_frame(np.zeros((960, 2), dtype=np.float32), i * 960)
                packets += [bytes(p) for p in enc.encode(frame)]
            self._silence = packets[-1]
        return self._silence

    def _audio_copy_packet(self, item: Item, position: int) -> bool:
        """Write one copied Opus packet; False when it is not written (overlap)."""
        data = item.data or b""
        samples = opus_packet_samples(data) or 960
        expected = self._copy_audio_next
        if expected is None:
            if position + samples <= 0:
                return False
            expected = max(0, position)
            self._copy_audio_origin = (time.monotonic(), expected)
        drift = position - expected
        if drift < -audioline.TOLERANCE:
            return False  # overlaps what was written
        if drift > audioline.TOLERANCE:
            silence = self._silence_packet()
            # As for decoded audio: never run ahead of the wall clock (see audioline).
            wall_start, line_start = self._copy_audio_origin
            wall = (time.monotonic() - wall_start + audioline.WALL_CLOCK_SLACK) * audioline.RATE
            fill = max(0, min(drift, audioline.MAX_FILL, int(wall) - (expected - line_start)))
            self.audio_gaps += 1
            self.audio_gap_samples += fill
            while fill >= 960:
                self._route_audio_packet(silence, expected, 960)
                expected += 960
                fill -= 960
        self._route_audio_packet(data, expected, samples)
        self._copy_audio_next = expected + samples
        return True

    def _route_audio_packet(self, data: bytes, pos: int, samples: int) -> None:
        """Send one copied packet at line position `pos` to the file that covers its start."""
        cur = self.current
        if cur is None:
            return
        if pos < cur.audio_start:
            old = self.draining
            if old is not None and old.file.audio_stream is not None:
                old.file.write_audio_packet(data, pos - old.audio_start, samples)
            if pos + samples >= cur.audio_start:  # the seam is reached
                self._end_drain()
            return
        if cur.file.audio_stream is not None:
            cur.file.write_audio_packet(data, pos - cur.audio_start, samples)
