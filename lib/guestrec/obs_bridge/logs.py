"""Route the package's Python log records (guest joins, recording errors such as a full
disk) into the OBS log, so a problem is never silent while OBS runs."""

from __future__ import annotations

import logging

from .libobs import obs_log

PACKAGE_LOGGER = "guestrec"


class ObsLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            level = "error"
        elif record.levelno >= logging.WARNING:
            level = "warning"
        else:
            level = "info"
        try:
            obs_log(level, f"[guestrec] {self.format(record)}")
        except Exception:
            self.handleError(record)


def route_package_logs_to_obs() -> ObsLogHandler:
    """Attach a handler to the package logger (INFO and up); returns it for removal."""
    handler = ObsLogHandler(level=logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def stop_routing(handler: ObsLogHandler | None) -> None:
    if handler is not None:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(handler)
