"""A NAT test rig of Linux network namespaces: two homes behind routers, an "internet"
segment with Debian's coturn (STUN and TURN) on it. Nothing in it reaches the machine's
own network: no namespace has a link or a route out of the rig.

    inet   198.51.100.0/24 bridge; coturn listens on 198.51.100.10 (STUN/TURN, UDP and TCP)
    srt    studio's router: wan 198.51.100.2, lan 10.71.0.1, masquerade + TCP port forward
    studio 10.71.0.2, default route via srt
    grt    guest's router: wan 198.51.100.3, lan 10.72.0.1, masquerade (optionally
           fully-random = symmetric NAT), optionally dropping the guest network's UDP
    guest  10.72.0.2, default route via grt

    with NatRig.build(symmetric=False, block_udp=False) as rig:   # torn down on exit
        rig.ns("studio")                # the namespace's unique name, for `ip netns exec`
        rig.forward_tcp(port)           # the studio router forwards that TCP port
        ice, secret = rig.start_coturn(tmp)   # coturn set up by install/turn.sh
        rig.run_in("guest", coro_fn)    # run an asyncio coroutine with its sockets in "guest"

Namespace names are unique per run (`net<random>-<role>`); `skip_reason()` says why the
rig cannot be built here (not root, or `ip`/`nft`/`turnserver` missing).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .netns import remove_namespace, run_in_namespace

T = TypeVar("T")

INTERNET = "198.51.100"
TURN_IP = f"{INTERNET}.10"
STUDIO_WAN = f"{INTERNET}.2"
GUEST_WAN = f"{INTERNET}.3"
STUDIO_IP = "10.71.0.2"
GUEST_IP = "10.72.0.2"
TURN_PORT = 3478
REPO = Path(__file__).resolve().parent.parent.parent
ROLES = ("inet", "srt", "studio", "grt", "guest")


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the NAT rig needs root (network namespaces, nftables)"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables"), ("turnserver", "coturn")):
        if shutil.which(tool) is None:
            return f"the NAT rig needs `{tool}` (Debian package {package})"
    return None


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class NatRig:
    def __init__(self, symmetric: bool = False, block_udp: bool = False) -> None:
        self.tag = f"net{secrets.token_hex(3)}"
        self.symmetric = symmetric
        self.block_udp = block_udp
        self._made: list[str] = []
        self._procs: list[subprocess.Popen] = []

    def ns(self, role: str) -> str:
        assert role in ROLES, role
        return f"{self.tag}-{role}"

    def ip(self, role: str, *args: str) -> str:
        return _run("ip", "-n", self.ns(role), *args)

    def nft(self, role: str, ruleset: str) -> None:
        done = subprocess.run(["ip", "netns", "exec", self.ns(role), "nft", "-f", "-"],
                              input=ruleset, capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"nft in {role} failed: {done.stderr.strip()}")

    def sysctl(self, role: str, key: str, value: str) -> None:
        _run("ip", "netns", "exec", self.ns(role), "sysctl", "-qw", f"{key}={value}")

    # -- building ---------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def build(cls, symmetric: bool = False, block_udp: bool = False) -> Iterator[NatRig]:
        rig = cls(symmetric, block_udp)
        try:
            rig._build()
            yield rig
        finally:
            rig.teardown()

    def _link(self, a: str, a_if: str, b: str, b_if: str) -> None:
        # Made inside the namespaces: no interface of the rig ever appears on the host.
        self.ip(a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", self.ns(b))

    def _build(self) -> None:
        for role in ROLES:
            _run("ip", "netns", "add", self.ns(role))
            self._made.append(self.ns(role))
            self.ip(role, "link", "set", "lo", "up")
        self.ip("inet", "link", "add", "br0", "type", "bridge")
        self.ip("inet", "addr", "add", f"{TURN_IP}/24", "dev", "br0")
        self.ip("inet", "link", "set", "br0", "up")
        homes = (("srt", "studio", STUDIO_WAN, "10.71.0"), ("grt", "guest", GUEST_WAN, "10.72.0"))
        for router, host, wan_ip, lan in homes:
            port = f"p-{router}"
            self._link(router, "wan", "inet", port)
            self.ip("inet", "link", "set", port, "master", "br0")
            self.ip("inet", "link", "set", port, "up")
            self.ip(router, "addr", "add", f"{wan_ip}/24", "dev", "wan")
            self.ip(router, "link", "set", "wan", "up")
            self._link(router, "lan", host, "eth0")
            self.ip(router, "addr", "add", f"{lan}.1/24", "dev", "lan")
            self.ip(router, "link", "set", "lan", "up")
            self.ip(host, "addr", "add", f"{lan}.2/24", "dev", "eth0")
            self.ip(host, "link", "set", "eth0", "up")
            self.ip(host, "route", "add", "default", "via", f"{lan}.1")
            self.sysctl(router, "net.ipv4.ip_forward", "1")
        masquerade = "masquerade fully-random" if self.symmetric else "masquerade"
        self.nft("srt", self._nat_rules("masquerade"))
        self.nft("grt", self._nat_rules(masquerade))
        if self.block_udp:
            self.nft("grt", "table ip guestfw {\n chain forward {\n  type filter hook forward priority 0;\n"
                            '  iifname "lan" meta l4proto udp drop\n }\n}\n')

    @staticmethod
    def _nat_rules(masquerade: str) -> str:
        # Like a home router, the router itself takes nothing unasked from the internet.
        # Dropped before conntrack confirms it, a stray packet leaves no entry behind that
        # would make masquerade pick another port for the reply (and so break hole punching).
        return ("table ip rignat {\n"
                " chain prerouting { type nat hook prerouting priority dstnat; }\n"
                " chain postrouting { type nat hook postrouting priority srcnat; "
                f"oifname \"wan\" {masquerade}; }}\n"
                " chain input {\n  type filter hook input priority filter;\n"
                "  iifname \"wan\" ct state established,related accept\n  iifname \"wan\" drop\n }\n"
                "}\n")

    def forward_tcp(self, port: int) -> None:
        """The studio's router forwards TCP `port` on its public address to the studio."""
        self.nft("srt", f'add rule ip rignat prerouting iifname "wan" tcp dport {port} '
                        f"dnat to {STUDIO_IP}:{port}\n")

    # -- processes --------------------------------------------------------------

    def popen(self, role: str, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(role), *argv], **kwargs)
        self._procs.append(proc)
        return proc

    def start_coturn(self, workdir: Path) -> tuple[str, str]:
        """coturn on the internet segment, configured by install/turn.sh as a user would;
        returns the (ICE servers JSON, TURN secret) that turn.sh printed."""
        conf = workdir / "turnserver.conf"
        out = _run("ip", "netns", "exec", self.ns("inet"), "bash", str(REPO / "install" / "turn.sh"),
                   "--write-config", str(conf), "--public-ip", TURN_IP, "--realm", "rig.test")
        ice = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                   if line.startswith("ICE servers:"))
        secret = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("TURN secret:"))
        argv = [
            "turnserver", "-c", str(conf), f"--listening-ip={TURN_IP}", f"--relay-ip={TURN_IP}",
            f"--pidfile={workdir / 'coturn.pid'}", f"--log-file={workdir / 'coturn.log'}",
            f"--userdb={workdir / 'turndb'}",
        ]
        proc = self.popen("inet", argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_listening("inet", TURN_PORT, proc, "coturn")
        return ice, secret

    def wait_listening(self, role: str, port: int, proc: subprocess.Popen, what: str,
                       timeout: float = 10) -> None:
        """Wait until something in `role` listens on TCP `port`."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = _run("ip", "netns", "exec", self.ns(role), "ss", "-Htln", f"sport = :{port}")
            if out.strip():
                return
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")

    def run_in(self, role: str, coro_fn: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
        """Run `coro_fn()` on a new event loop in a thread switched into the namespace, so
        every socket it opens (and every process it starts) is in the rig."""
        return run_in_namespace(self.ns(role), coro_fn, timeout)

    # -- teardown ---------------------------------------------------------------

    def teardown(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self._procs.clear()
        for name in reversed(self._made):
            remove_namespace(name)
        self._made.clear()
