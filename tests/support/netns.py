"""Network namespaces for tests: run a coroutine inside one, remove one, and a
loopback-only namespace of a test's own.

    with loopback_namespace("vdo") as ns:           # needs root and iproute2
        result = ns.run(scenario_coroutine_function)  # asyncio.run in a thread inside ns

A thread's network namespace is its own (setns), and the sockets, threads and processes
it makes stay there, so servers, browsers and the product under test all run inside
while pytest itself stays outside. The loopback-only namespace has `lo` up with
127.0.0.1 plus one more address (`ns.address`, 10.x) on lo, because aioice never gathers
127.0.0.1 as an ICE candidate; nothing in it reaches any other network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def namespaces_unavailable() -> str | None:
    """Why this machine cannot make network namespaces for a test, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def enter(name: str) -> None:
    """Move the calling thread into the named namespace (/run/netns/<name>)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
    finally:
        os.close(fd)


def run_in_namespace(name: str, coro_fn: Callable[[], Awaitable[T]], timeout: float = 180) -> T:
    """`asyncio.run(coro_fn())` in a new thread switched into the namespace."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            enter(name)
            outcome["value"] = asyncio.run(asyncio.wait_for(coro_fn(), timeout))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=body, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join(timeout + 30)
    if thread.is_alive():
        raise TimeoutError(f"the coroutine in {name} did not finish")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def remove_namespace(name: str) -> None:
    """End any process still inside (it would keep the namespace alive), then delete it."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        if int(pid) == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


@dataclass
class Namespace:
    name: str
    address: str

    def run(self, scenario: Callable[[], Awaitable[T]], timeout: float = 180) -> T:
        return run_in_namespace(self.name, scenario, timeout)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def loopback_namespace(prefix: str, address: str = "10.99.0.1") -> Iterator[Namespace]:
    name = f"{prefix}-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{address}/32", "dev", "lo")
        yield Namespace(name, address)
    finally:
        remove_namespace(name)
