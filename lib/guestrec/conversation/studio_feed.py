"""The studio's own sound for the return, from a file played in a loop.

    feed = StudioFeed(Path("music.opus"))   # StudioFeedError when it has no audio
    samples = feed.read(960)                # (960, 2) int16, 48 kHz stereo

The mixer reads 20 ms every tick, so the file plays in real time. It is decoded a
little at a time (PyAV), resampled to 48 kHz stereo, and started again at its end. A
file that stops decoding midway is reported once and the feed falls silent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from .pcm import RATE
from .sample_queue import SampleQueue

log = logging.getLogger(__name__)


class StudioFeedError(ValueError):
    """The file cannot be a studio feed; the message says why."""


def check_feed_file(path: Path) -> None:
    """Raise StudioFeedError unless `path` opens and has an audio stream."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise StudioFeedError(f"{path} has no audio")
    except (OSError, av.FFmpegError) as exc:
        raise StudioFeedError(f"cannot play {path} as studio audio: {exc}") from None


class StudioFeed:
    def __init__(self, path: Path) -> None:
        check_feed_file(path)
        self.path = path
        self._queue = SampleQueue()
        self._container: av.container.InputContainer | None = None
        self._frames = None
        self._resampler: av.AudioResampler | None = None
        self._failed = False
        self.loops = 0  # times the file started again

    def read(self, count: int) -> np.ndarray:
        """The next `count` samples (silence once the file failed)."""
        empty_rounds = 0
        while self._queue.available < count and not self._failed:
            if self._decode_some():
                empty_rounds = 0
            else:
                empty_rounds += 1
                if empty_rounds > 2:  # a whole pass gave nothing: nothing to play
                    self._fail("it gave no sound")
        samples = self._queue.take(count)
        if len(samples) < count:
            padded = np.zeros((count, 2), dtype=np.int16)
            padded[:len(samples)] = samples
            return padded
        return samples

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = self._frames = None

    def _decode_some(self) -> bool:
        """Decode one frame into the queue; False at the end of the file (rewound)."""
        try:
            if self._frames is None:
                self._open()
            frame = next(self._frames, None)
            if frame is None:
                for out in self._resampler.resample(None):  # what the resampler still holds
                    self._queue.append(out.to_ndarray().reshape(-1, 2))
                self.close()
                self.loops += 1
                return False
            for out in self._resampler.resample(frame):
                self._queue.append(out.to_ndarray().reshape(-1, 2))
            return True
        except (OSError, av.FFmpegError) as exc:
            self._fail(str(exc))
            return False

    def _open(self) -> None:
        self._container = av.open(str(self.path))
        stream = self._container.streams.audio[0]
        self._frames = iter(self._container.decode(stream))
        # A fresh resampler per pass (the last one was flushed at the end of the file).
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)

    def _fail(self, why: str) -> None:
        if not self._failed:
            log.error("studio audio %s stopped: %s", self.path, why)
        self._failed = True
        self.close()
