"""The grid yields to the recordings: fewer pictures a second while recordings fall
behind live, back up once they keep up again.

Recordings come first: a machine too busy to write what guests send must not spend its
time on the return picture. Checked once a second with the recordings' lag (how far the
furthest-behind recording is from live): past `BEHIND_SECONDS` the grid steps down a
rate; after `CALM_CHECKS` checks in a row under `CAUGHT_UP_SECONDS` it steps back up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

RATES = (15, 8, 4, 2)  # frames a second, from full to the least that still shows who talks
BEHIND_SECONDS = 0.5
CAUGHT_UP_SECONDS = 0.2
CALM_CHECKS = 5


class VideoEasing:
    def __init__(self, recording_lag: Callable[[], float], set_fps: Callable[[int], None]) -> None:
        self._lag = recording_lag
        self._set_fps = set_fps
        self.level = 0
        self._calm = 0

    @property
    def fps(self) -> int:
        return RATES[self.level]

    def check(self) -> None:
        lag = self._lag()
        if lag > BEHIND_SECONDS:
            self._calm = 0
            if self.level < len(RATES) - 1:
                self.level += 1
                log.info("recordings are %.1f s behind live: the return picture drops to %d fps",
                         lag, self.fps)
                self._set_fps(self.fps)
        elif lag < CAUGHT_UP_SECONDS and self.level > 0:
            self._calm += 1
            if self._calm >= CALM_CHECKS:
                self._calm = 0
                self.level -= 1
                log.info("recordings keep up again: the return picture goes back to %d fps", self.fps)
                self._set_fps(self.fps)
        else:
            self._calm = 0
