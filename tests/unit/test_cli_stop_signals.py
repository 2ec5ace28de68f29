"""Ctrl-C stops the asyncio commands (sfu-record, sfu-link) on POSIX loops and, through the
plain-handler fallback, on loops without add_signal_handler (Windows')."""

from __future__ import annotations

import asyncio
import signal

import pytest

from guestrec.cli.stop_signals import stop_on_signals, stop_signals


@pytest.fixture
def kept_handlers():
    before = {sig: signal.getsignal(sig) for sig in stop_signals()}
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


async def _stopped_by_ctrl_c() -> bool:
    stop = stop_on_signals()
    asyncio.get_running_loop().call_later(0.05, signal.raise_signal, signal.SIGINT)
    await asyncio.wait_for(stop.wait(), 5)
    return stop.is_set()


def test_ctrl_c_sets_the_stop_event_on_a_posix_loop(kept_handlers) -> None:
    assert asyncio.run(_stopped_by_ctrl_c())


def test_ctrl_c_sets_the_stop_event_without_add_signal_handler(kept_handlers, monkeypatch) -> None:
    refused: list[int] = []

    def no_signal_handlers(self, sig, *args):
        refused.append(sig)
        raise NotImplementedError  # what Windows' loops do

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", no_signal_handlers)
    assert asyncio.run(_stopped_by_ctrl_c())
    assert signal.SIGINT in refused  # the fallback, not the loop's handler, set the event


def test_thestop_signals_exist_here() -> None:
    names = {sig.name for sig in stop_signals()}
    assert "SIGINT" in names and names <= {"SIGINT", "SIGTERM", "SIGBREAK"}
