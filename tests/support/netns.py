"""A loopback-only network namespace for a test, entered by one thread of the test.

    with loopback_namespace("vdo") as ns:           # needs root and iproute2
        result = ns.run(scenario_coroutine_function)  # asyncio.run in a thread inside ns

The namespace has `lo` up with 127.0.0.1 plus one more address (`ns.address`, 10.x) on
lo, because aioice never gathers 127.0.0.1 as an ICE candidate. Nothing in it reaches
any other network. A thread's network namespace is its own (setns), and sockets, threads
and processes it makes stay there, so servers, browsers and the product under test all
run inside while pytest itself stays outside.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncio

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def namespaces_unavailable() -> str | None:
    """Why this machine cannot make network namespaces for a test, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Namespace:
    name: str
    address: str

    def enter_this_thread(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.name} failed")
        finally:
            os.close(fd)

    def run(self, scenario: Callable[[], Awaitable[T]], timeout: float = 180) -> T:
        """Run `asyncio.run(scenario())` in a new thread inside the namespace."""
        outcome: dict[str, Any] = {}

        def body() -> None:
            try:
                self.enter_this_thread()
                outcome["value"] = asyncio.run(asyncio.wait_for(scenario(), timeout))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=body, name=f"netns-{self.name}", daemon=True)
        thread.start()
        thread.join(timeout + 30)
        if thread.is_alive():
            raise TimeoutError(f"the scenario in {self.name} did not end")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


@contextmanager
def loopback_namespace(prefix: str, address: str = "10.99.0.1") -> Iterator[Namespace]:
    name = f"{prefix}-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{address}/32", "dev", "lo")
        yield Namespace(name, address)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
