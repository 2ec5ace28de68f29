"""Debian's Janus in a network namespace of its own, configured by install/janus.sh.

Janus never offers 127.0.0.1 as a media address, so it gets a veth pair: 10.x.y.2 inside
its namespace, 10.x.y.1 on this side (aiortc here gathers that address too). Nothing is
routed beyond the pair. `JanusRig.url` is the HTTP API; `restart()` kills and starts
Janus again (every session and room participant is lost, as in a real crash).

    with JanusRig(tmp_path) as janus:
        ... janus.url, janus.room, janus.api_secret ...
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .rig import Rig

ROOT = Path(__file__).resolve().parent.parent.parent
HTTP_PORT = 8088  # inside the namespace, so never shared with another rig


def janus_missing_reason() -> str | None:
    if os.geteuid() != 0:
        return "Janus tests need root (network namespaces)"
    if shutil.which("janus") is None:
        return "Debian's janus is not installed (bash install/test.sh installs it)"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is missing"
    return None


def skip_without_janus() -> None:
    reason = janus_missing_reason()
    if reason:
        pytest.skip(reason)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def _free_subnet() -> str:
    """10.a.b.0/30 that no interface here uses yet, e.g. "10.213.7.4"."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for _ in range(50):
        base = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randrange(0, 256, 4)}"
        if base.rsplit(".", 1)[0] + "." not in used:
            return base
    raise RuntimeError("no free 10.x subnet for the Janus rig")


class JanusRig(Rig):
    def __init__(self, work: Path, room: int = 4321, publishers: int = 64,
                 beside: JanusRig | None = None) -> None:
        """`beside`: a second Janus in that rig's namespace (other ports), e.g. to link two."""
        self.beside = beside
        if beside is None:
            tag = secrets.token_hex(3)
            self.netns = f"sfu-janus-{tag}"
            self.veth_host, self.veth_janus = f"sfuh{tag}", f"sfuj{tag}"
            base = _free_subnet()
            prefix, last = base.rsplit(".", 1)
            self.host_ip = f"{prefix}.{int(last) + 1}"
            self.janus_ip = f"{prefix}.{int(last) + 2}"
        else:
            self.netns, self.veth_host, self.veth_janus = beside.netns, beside.veth_host, beside.veth_janus
            self.host_ip, self.janus_ip = beside.host_ip, beside.janus_ip
        self.http_port = HTTP_PORT + (1 if beside else 0)
        self.ws_port = 8188 + (1 if beside else 0)
        self.rtp_ports = "30000-39999" if beside else "20000-29999"
        self.room = room
        self.api_secret = "api-" + secrets.token_hex(6)
        self.room_secret = "room-" + secrets.token_hex(6)
        self.config_dir = work / "janus-config"
        self.log_path = work / "janus.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._publishers = publishers
        self._made = False

    @property
    def url(self) -> str:
        return f"http://{self.janus_ip}:{self.http_port}/janus"

    @property
    def sfu(self) -> str:
        """The value of the product's --sfu option."""
        return f"janus:{self.url}"

    def _build(self) -> None:
        if self.beside is None:
            self._make_network()
        self._configure()
        self.start()

    def _make_network(self) -> None:
        _run("ip", "netns", "add", self.netns)
        self._made = True
        _run("ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_janus)
        _run("ip", "link", "set", self.veth_janus, "netns", self.netns)
        _run("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.veth_host)
        _run("ip", "link", "set", self.veth_host, "up")
        ns = ("ip", "netns", "exec", self.netns)
        _run(*ns, "ip", "addr", "add", f"{self.janus_ip}/30", "dev", self.veth_janus)
        _run(*ns, "ip", "link", "set", self.veth_janus, "up")
        _run(*ns, "ip", "link", "set", "lo", "up")

    def _configure(self) -> None:
        subprocess.run(
            ["bash", str(ROOT / "install" / "janus.sh"), "--no-install", "--no-start",
             "--dir", str(self.config_dir), "--room", str(self.room),
             "--publishers", str(self._publishers), "--api-secret", self.api_secret,
             "--room-secret", self.room_secret, "--rtp-ports", self.rtp_ports,
             "--interface", self.veth_janus, "--http-port", str(self.http_port),
             "--ws-port", str(self.ws_port)],
            check=True, capture_output=True,
        )

    def start(self, timeout: float = 15.0) -> None:
        with open(self.log_path, "ab") as log:  # Janus keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, "janus",
                 f"--config={self.config_dir}/janus.jcfg", f"--configs-folder={self.config_dir}",
                 "--disable-colors"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/info", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"janus did not answer within {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int:
        """Janus's own process id (the child of `ip netns exec`)."""
        assert self.proc is not None
        return self.proc.pid  # ip netns exec execs janus in place

    async def publishers(self, every: bool = False) -> list[str]:
        """The names publishing in the room now: the guests, as the product lists them (a
        studio's return picture left out), or `every` participant that publishes."""
        from guestrec.ingest.sfu.janus_client import JanusSession
        from guestrec.ingest.sfu.videoroom import list_publishers, request_once

        session = JanusSession(self.url, self.api_secret)
        await session.open()
        try:
            if every:
                data = await request_once(session, {"request": "listparticipants", "room": self.room})
                return [str(p.get("display")) for p in data.get("participants", []) if p.get("publisher")]
            return [p.display for p in await list_publishers(session, self.room)]
        finally:
            await session.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if self._made:
                subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
                subprocess.run(["ip", "link", "del", self.veth_host], capture_output=True)
                self._made = False
