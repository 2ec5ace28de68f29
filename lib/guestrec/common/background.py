"""Work started on the loop and left to finish by itself ("fire and forget"), done safely.

The event loop keeps only a weak reference to a task: one that nobody holds can be
garbage-collected mid-flight, and its exception would be reported only as "never
retrieved". `spawn` holds every such task until it ends and logs what it raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[Any]] = set()


def spawn(work: Coroutine[Any, Any, Any], what: str = "background work") -> asyncio.Task[Any]:
    """Run `work` on the running loop; kept alive until done, its failure logged."""
    task = asyncio.ensure_future(work)
    _running.add(task)
    task.add_done_callback(lambda done: _finished(done, what))
    return task


def _finished(task: asyncio.Task[Any], what: str) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("%s failed", what, exc_info=exc)
