"""A studio and a guest on two networks joined by a router, all in network namespaces,
where a test can cut the guest's UDP (its WebRTC media and ICE) for real.

    studio ns  10.71.1.2 ── 10.71.1.1  router ns  10.71.2.1 ── 10.71.2.2  guest ns

    with LinkRig("reconnect") as rig:          # needs root; see LinkRig.available()
        studio = NetnsLoop(rig.studio)         # an asyncio loop in a thread inside a namespace
        guest = NetnsLoop(rig.guest)
        rig.block_udp()                        # the router drops UDP both ways (nftables)
        rig.unblock_udp()

Names are `<prefix>-<random>-{s,r,g}` so rigs of tests running at the same time never
meet; every address lives inside the namespaces, which have no route anywhere else, and
deleting the namespaces (always, in `__exit__`) removes every link and rule made.

A thread enters a namespace with setns(2), which moves only the calling thread: sockets
made by that thread (and threads it starts) belong to the namespace, the rest of the
test process stays where it was.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from .rig import Rig

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
STUDIO_ADDR, STUDIO_GW = "10.71.1.2", "10.71.1.1"
GUEST_ADDR, GUEST_GW = "10.71.2.2", "10.71.2.1"
BLOCK_TABLE = "linkrig_block"


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")


class LinkRig(Rig):
    def __init__(self, prefix: str) -> None:
        suffix = secrets.token_hex(3)
        self.studio, self.router, self.guest = (f"{prefix}-{suffix}-{x}" for x in "srg")
        self._veth = f"lr{suffix}"  # + s0/s1/g0/g1: at most 12 characters
        self._made: list[str] = []

    @staticmethod
    def available() -> str | None:
        """None when a rig can be built here, else why not."""
        if os.geteuid() != 0:
            return "needs root (network namespaces, nftables)"
        missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
        return f"needs {', '.join(missing)}" if missing else None

    def _build(self) -> None:
        for ns in (self.studio, self.router, self.guest):
            _run("ip", "netns", "add", ns)
            self._made.append(ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        v = self._veth
        for side, ns, addr, gateway in (("s", self.studio, STUDIO_ADDR, STUDIO_GW),
                                        ("g", self.guest, GUEST_ADDR, GUEST_GW)):
            inner, outer = f"{v}{side}0", f"{v}{side}1"
            _run("ip", "-n", self.router, "link", "add", outer, "type", "veth",
                 "peer", "name", inner, "netns", ns)
            _run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", inner)
            _run("ip", "-n", ns, "link", "set", inner, "up")
            _run("ip", "-n", ns, "route", "add", "default", "via", gateway)
            _run("ip", "-n", self.router, "addr", "add", f"{gateway}/24", "dev", outer)
            _run("ip", "-n", self.router, "link", "set", outer, "up")
        _run("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def block_udp(self) -> None:
        """The router drops every UDP packet between guest and studio (TCP still passes)."""
        script = (f"table inet {BLOCK_TABLE} {{\n chain forward {{\n"
                  "  type filter hook forward priority 0; policy accept;\n"
                  "  meta l4proto udp drop\n }\n}\n")
        result = subprocess.run(["ip", "netns", "exec", self.router, "nft", "-f", "-"],
                                input=script, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"nft: {result.stderr.strip()}")

    def unblock_udp(self) -> None:
        _run("ip", "netns", "exec", self.router, "nft", "delete", "table", "inet", BLOCK_TABLE)

    def close(self) -> None:
        # Deleting a namespace deletes its links (and their peers) and its nftables rules.
        while self._made:
            subprocess.run(["ip", "netns", "del", self._made.pop()], capture_output=True)


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({name}): {os.strerror(errno)}")
    finally:
        os.close(fd)


class NetnsLoop:
    """An asyncio loop running in its own thread inside a network namespace."""

    def __init__(self, netns: str, name: str = "netns-loop") -> None:
        self.loop = asyncio.new_event_loop()
        started: Future[None] = Future()
        self._thread = threading.Thread(target=self._main, args=(netns, started), name=name,
                                        daemon=True)
        self._thread.start()
        started.result(10)

    def _main(self, netns: str, started: Future[None]) -> None:
        try:
            enter_netns(netns)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            started.set_exception(exc)
            return
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set_result, None)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on this loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[return-value]

    def close(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
