"""Stopping a command by Ctrl-C, SIGTERM or (on Windows) Ctrl-Break, on any OS."""

from __future__ import annotations

import asyncio
import signal


def stop_signals() -> tuple[signal.Signals, ...]:
    """Ctrl-C, SIGTERM, and Ctrl-Break where there is one (Windows)."""
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


def stop_on_signals() -> asyncio.Event:
    """An event that Ctrl-C or SIGTERM sets, on the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals():
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:
            # Windows' event loops have no add_signal_handler. A plain handler runs in the
            # main thread (the loop wakes up for it) and hands the stop over to the loop.
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    return stop
