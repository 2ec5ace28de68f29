"""The engine's asyncio loop, in a thread of its own.

OBS (or the CLI) calls from its own threads; the loop runs everything that touches guests.
`call` hands a coroutine to the loop and waits for it with a timeout, so a stuck loop never
hangs the caller; `stop` runs a last coroutine on the loop, then ends and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
ReportFn = Callable[[str], None]


class LoopNotRunning(RuntimeError):
    """The loop thread is not running (not started yet, or stopped)."""


class LoopThread:
    def __init__(self, name: str, report_error: ReportFn) -> None:
        self._name = name
        self._report_error = report_error
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def start(self, start: Callable[[], Coroutine[Any, Any, None]], timeout: float) -> None:
        """Run `start()` on a new loop in a new thread; raises what it raised (the thread
        is then gone again)."""
        loop = asyncio.new_event_loop()
        ready: Future[None] = Future()
        thread = threading.Thread(target=self._run, args=(loop, start, ready), name=self._name, daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            ready.result(timeout=timeout)
        except BaseException:
            self.stop(None, timeout=5)
            raise

    def call(self, coro: Awaitable[T], timeout: float) -> T:
        """Run `coro` on the loop and wait for its result (any thread but the loop's)."""
        loop = self._loop
        if loop is None or not self.running:
            coro.close()  # type: ignore[attr-defined]
            raise LoopNotRunning(self._name)
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)  # type: ignore[arg-type]

    def call_soon(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start `coro` on the loop without waiting for it."""
        if self._loop is None:
            coro.close()
            return
        asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self, last: Callable[[], Coroutine[Any, Any, None]] | None, timeout: float) -> None:
        """Run `last()` on the loop (at most about `timeout`), then stop the loop and join."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if last is not None and thread.is_alive() and loop.is_running():
            done = asyncio.run_coroutine_threadsafe(last(), loop)
            try:
                done.result(timeout=max(0.5, timeout - 1))
            except Exception as exc:  # noqa: BLE001 - a hung close must not hang OBS: stop anyway
                self._report_error(f"closing guests did not finish cleanly: {exc!r}")
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=max(0.5, timeout))
        if thread.is_alive():
            self._report_error("engine thread did not stop in time")
        self._loop = self._thread = None

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, start: Callable[[], Coroutine[Any, Any, None]],
             ready: Future[None]) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # noqa: BLE001 - whatever it was, start() reports it
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
