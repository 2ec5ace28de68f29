"""Route the package's Python log records (guest joins, recording errors such as a full
disk) into OBS, so a problem is never silent while OBS runs.

What the user needs to see (warnings, errors, and records logged with
`extra={"user": True}`, such as the session folder) goes to `user_sink`, which in the
script feeds OBS's Script Log (that also writes the OBS log file); the rest goes to the
OBS log file only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .libobs import LibObsMissing, obs_log

PACKAGE_LOGGER = "guestrec"
UserSink = Callable[[str, str], None]


def _level(record: logging.LogRecord) -> str:
    if record.levelno >= logging.ERROR:
        return "error"
    return "warning" if record.levelno >= logging.WARNING else "info"


class ObsLogHandler(logging.Handler):
    def __init__(self, level: int = logging.INFO, user_sink: UserSink | None = None) -> None:
        super().__init__(level=level)
        self.user_sink = user_sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            for_user = record.levelno >= logging.WARNING or getattr(record, "user", False)
            if for_user and self.user_sink is not None:
                self.user_sink(_level(record), record.getMessage())
            else:
                _to_obs_log(_level(record), f"[guestrec] {self.format(record)}")
        except Exception:  # noqa: BLE001 - a log line must never raise (logging's own rule)
            self.handleError(record)


_printing_instead: list[bool] = []  # set once libobs was not found: no lookup per line


def _to_obs_log(level: str, line: str) -> None:
    if not _printing_instead:
        try:
            obs_log(level, line)
            return
        except LibObsMissing:
            _printing_instead.append(True)
    # libobs not found in this OBS (an unusual build): OBS still shows a script's printed
    # lines in its Script Log and log file.
    print(line, flush=True)


def route_package_logs_to_obs(user_sink: UserSink | None = None) -> ObsLogHandler:
    """Attach a handler to the package logger (INFO and up); returns it for removal."""
    handler = ObsLogHandler(level=logging.INFO, user_sink=user_sink)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def stop_routing(handler: ObsLogHandler | None) -> None:
    if handler is not None:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(handler)
