"""Bounded logging for what guests and strangers can trigger at will.

aiortc's decoder thread logs a warning for every frame it cannot decode, so a guest that
sends random payloads would write a line per frame into the studio's (and OBS's) log. A
filter lets each message through a few times per minute per logger and counts the rest.
"""

from __future__ import annotations

import logging
import threading
import time

PER_MINUTE = 5
NOISY_LOGGERS = ("aiortc.rtcrtpreceiver",)
# Loggers that write a traceback for a malformed request or a failed TLS handshake.
REQUEST_LOGGERS = ("aiohttp.server", "aiohttp.web", "asyncio")


class OneLine(logging.Filter):
    """A malformed request from outside is worth one line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {str(exc)[:200]}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class RepeatLimit(logging.Filter):
    """At most `per_minute` records per message template; one summary line for the rest."""

    def __init__(self, per_minute: int = PER_MINUTE) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._lock = threading.Lock()  # aiortc logs from its decoder threads
        self._window: dict[str, tuple[int, int]] = {}  # template -> (minute, count)
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        minute = int(time.monotonic() // 60)
        key = str(record.msg)[:200]
        with self._lock:
            start, count = self._window.get(key, (minute, 0))
            if start != minute:
                if count > self.per_minute:
                    record.msg = f"{record.msg} (and {count - self.per_minute} more like it last minute)"
                start, count = minute, 0
            count += 1
            self._window[key] = (start, count)
            if len(self._window) > 256:  # templates are few; never grows without bound
                self._window.pop(next(iter(self._window)))
            if count > self.per_minute:
                self.suppressed += 1
                return False
        return True


_installed = False


def bound_noisy_loggers() -> None:
    """Install the filter once per process on the loggers guests can make noisy."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in NOISY_LOGGERS:
        logging.getLogger(name).addFilter(RepeatLimit())
    for name in REQUEST_LOGGERS:
        logging.getLogger(name).addFilter(OneLine())
        logging.getLogger(name).addFilter(RepeatLimit())
