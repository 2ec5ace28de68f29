"""A real VDO.Ninja to test the room ingest against: the app, its handshake server, guests.

Everything runs inside a loopback-only network namespace (see netns.py):

- `handshake_server()`: VDO.Ninja's self-hosted handshake server (`handshake/server.js`,
  node), with a TLS certificate from a test CA; its npm dependencies are installed once
  into a cache beside the test Python (`<venv>/vdoninja-handshake`).
- `app_server()`: the web app (`app/`) over plain HTTP on 127.0.0.1 (a secure context).
- `guest_browser()`: headless Chromium whose fake camera and microphone play a flat
  colour and a tone of our own (`fake_media`), so a recording tells which guest it holds.
- `guest_url()`: the link a guest opens to publish into a room.

The folder with the app comes from `../shared/vdoninja` beside the repository (CI) or
`/work/shared/vdoninja`; tests skip with the reason when it is absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import itertools
import os
import shutil
import subprocess
import sys
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from obs_launcher.obs_config import free_port

from .cdp import Chromium
from .media_probe import dominant_tone, mean_yuv

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_BINARY = "/usr/lib/chromium/chromium"
HANDSHAKE_PACKAGES = ("express@4", "ws@8", "cors@2")
VIDEO_SIZE = (320, 240)
GUEST_FLAGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--ignore-certificate-errors",
]


def vdoninja_dir() -> Path | None:
    for candidate in (ROOT.parent / "shared" / "vdoninja", Path("/work/shared/vdoninja")):
        if (candidate / "app" / "index.html").exists() and (candidate / "handshake" / "server.js").exists():
            return candidate
    return None


def rig_unavailable() -> str | None:
    """Why the VDO.Ninja rig cannot run here, or None."""
    if vdoninja_dir() is None:
        return "VDO.Ninja app and handshake server not found (../shared/vdoninja beside the repository)"
    for tool, package in (("node", "nodejs"), ("npm", "npm")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing (Debian package {package}; install/test.sh installs it)"
    if not Path(CHROMIUM_BINARY).exists():
        return "needs Debian's chromium"
    from .netns import namespaces_unavailable

    return namespaces_unavailable()


# -- TLS: a test CA and a server certificate it signs ---------------------------------


@dataclass
class TestTls:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path, host: str = "127.0.0.1") -> TestTls:
    """A CA and a certificate for `host` signed by it, as a real server would have."""
    import ipaddress

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guestrec test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = TestTls(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tls


# -- the handshake server ----------------------------------------------------------------


def handshake_install() -> Path:
    """A folder holding server.js and its npm dependencies (installed once, then cached).
    Call it outside the test's namespace: npm needs the package registry."""
    source = vdoninja_dir()
    assert source is not None
    folder = Path(sys.prefix) / "vdoninja-handshake"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test may be installing right now
        script = (source / "handshake" / "server.js").read_bytes()
        target = folder / "server.js"
        if not target.exists() or target.read_bytes() != script:
            # Atomically: another test's node may be reading it right now.
            (folder / "server.js.tmp").write_bytes(script)
            os.replace(folder / "server.js.tmp", target)
        modules = folder / "node_modules"
        if not (modules / "ws").exists() or not (modules / "express").exists():
            (folder / "package.json").write_text('{"name": "vdo-handshake-test", "private": true}\n')
            # The upstream package.json also lists a placeholder `fs` package the registry
            # refuses: install only what server.js uses.
            done = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *HANDSHAKE_PACKAGES],
                cwd=folder, capture_output=True, text=True, timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"npm install {' '.join(HANDSHAKE_PACKAGES)} in {folder} failed: "
                                   f"{(done.stderr or done.stdout).strip()[-800:]}")
    return folder


class HandshakeServer:
    """node server.js on `port` (all interfaces of the test's namespace)."""

    def __init__(self, tls: TestTls, port: int, folder: Path) -> None:
        self.tls = tls
        self.port = port
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None
        self.log = tls.cert.parent / f"handshake-{port}.log"  # in the test's own folder

    async def start(self) -> None:
        env = {**os.environ, "PORT": str(self.port), "KEY_PATH": str(self.tls.key),
               "CERT_PATH": str(self.tls.cert)}
        with open(self.log, "ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                "node", "server.js", cwd=self.folder, env=env, stdout=out, stderr=out)
        for _ in range(200):
            if self.process.returncode is not None:
                raise RuntimeError(f"handshake server exited: {self.log.read_text()[-500:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("handshake server did not listen")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def handshake_server(tls: TestTls, folder: Path) -> AsyncIterator[HandshakeServer]:
    server = HandshakeServer(tls, free_port(), folder)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def app_server() -> AsyncIterator[int]:
    """The VDO.Ninja web app over HTTP on 127.0.0.1; yields the port."""
    folder = vdoninja_dir()
    assert folder is not None
    app = web.Application()

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(folder / "app" / "index.html")

    app.router.add_get("/", index)
    app.router.add_static("/", folder / "app")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield port
    finally:
        await runner.cleanup()


# -- guests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestLook:
    """What a guest's fake devices play: one flat colour (Y, U, V) and one tone."""

    yuv: tuple[int, int, int]
    tone_hz: float


RED = GuestLook((81, 90, 240), 440.0)
GREEN = GuestLook((145, 54, 34), 660.0)
BLUE = GuestLook((41, 240, 110), 880.0)
YELLOW = GuestLook((210, 16, 146), 550.0)


def fake_media(folder: Path, look: GuestLook) -> tuple[Path, Path]:
    """A y4m (a few frames, Chromium loops it) and a wav of the tone."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = VIDEO_SIZE
    y, u, v = look.yuv
    video = folder / "camera.y4m"
    frame = (bytes([y]) * (width * height) + bytes([u]) * (width * height // 4)
             + bytes([v]) * (width * height // 4))
    with open(video, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F20:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + frame)
    audio = folder / "microphone.wav"
    rate = 48_000
    t = np.arange(rate * 2) / rate  # 2 s: a whole number of cycles for these tones
    samples = (0.3 * 32767 * np.sin(2 * np.pi * look.tone_hz * t)).astype("<i2")
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return video, audio


def guest_browser(folder: Path, look: GuestLook) -> Chromium:
    video, audio = fake_media(folder / "media", look)
    return Chromium(
        folder / "profile", binary=CHROMIUM_BINARY,
        extra_flags=[*GUEST_FLAGS, f"--use-file-for-fake-video-capture={video}",
                     f"--use-file-for-fake-audio-capture={audio}"],
    )


def guest_url(app_port: int, ws_port: int, room: str, stream: str, label: str,
              password: str | None = None, hosted: bool = False, extra: str = "") -> str:
    """A guest's link publishing `stream` into `room`; `hosted` keeps the hosted dialect."""
    query = {"push": stream, "room": room, "label": label}
    if password is not None:
        query["password"] = password
    query["wss2" if hosted else "wss"] = f"127.0.0.1:{ws_port}"
    flags = "&autostart&webcam&view&stun=false&turn=false&width=320&height=240"
    return f"http://127.0.0.1:{app_port}/?{urlencode(query, quote_via=quote)}{flags}{extra}"


# -- the studio under test ----------------------------------------------------------------


async def guests_of(engine) -> list[dict]:
    return await asyncio.to_thread(engine.guests)


async def wait_for_guests(engine, ready, timeout: float = 40, what: str = "guests") -> list[dict]:
    """Poll the engine's guest list until `ready(guests)` is true; returns that list."""
    deadline = asyncio.get_running_loop().time() + timeout
    guests: list[dict] = []
    while asyncio.get_running_loop().time() < deadline:
        guests = await guests_of(engine)
        if ready(guests):
            return guests
        await asyncio.sleep(0.25)
    status = await asyncio.to_thread(engine.vdo_status)
    raise AssertionError(f"waited {timeout}s for {what}; guests: {guests}; room: {status}")


def recording(guests: list[dict], name: str, seconds: float = 0.0) -> bool:
    return any(g["name"] == name and g["recording"] and g["recording_seconds"] >= seconds
               for g in guests)


# -- checking what was recorded -------------------------------------------------------------


@dataclass
class Recorded:
    """One recording of a guest, as read back from the file and its sidecar."""

    path: Path
    guest: str
    yuv: tuple[float, float, float]
    tone_hz: float
    codecs: tuple[str, ...]
    seconds: float
    frames_received: int
    frames_recorded: int
    audio_seconds: float

    def shows(self, look: GuestLook) -> bool:
        """Whether the picture is the guest's colour (chroma within a few steps) and the
        sound its tone (within 5 Hz)."""
        _, u, v = self.yuv
        return (abs(u - look.yuv[1]) < 12 and abs(v - look.yuv[2]) < 12
                and abs(self.tone_hz - look.tone_hz) < 5)

    def report(self) -> str:
        return (f"{self.guest}: {self.path.name} {'+'.join(self.codecs)} {self.seconds:.1f} s, "
                f"video frames received {self.frames_received} recorded {self.frames_recorded}, "
                f"audio {self.audio_seconds:.1f} s, colour YUV {tuple(round(c) for c in self.yuv)}, "
                f"tone {self.tone_hz:.0f} Hz")


def recordings(folder: Path) -> list[Recorded]:
    """Every finished recording under `folder` (one per sidecar; session folders included),
    oldest first."""
    import json

    from .media_probe import probe

    found = []
    for sidecar in sorted(folder.rglob("*.json"), key=lambda p: p.stat().st_mtime):
        meta = json.loads(sidecar.read_text())
        if "guest" not in meta or "file" not in meta:
            continue  # e.g. the session's own session.json
        media = sidecar.parent / meta["file"]
        info = probe(media)
        video = meta.get("video") or {}
        found.append(Recorded(
            path=media, guest=meta["guest"], yuv=mean_yuv(media), tone_hz=dominant_tone(media),
            codecs=tuple(s["codec_name"] for s in info["streams"]),
            seconds=float(meta.get("duration_seconds") or 0.0),
            frames_received=int(((meta.get("network") or {}).get("video") or {}).get("frames") or 0),
            frames_recorded=int(video.get("frames") or 0),
            audio_seconds=float((meta.get("audio") or {}).get("seconds") or 0.0),
        ))
    return found


def video_wall_times(path: Path) -> list[float]:
    """When each picture of a recording was taken, as Unix time: the sidecar's start plus
    the packet's time in the file (close enough to find holes of a few tenths of a second)."""
    import json

    import av

    meta = json.loads(path.with_suffix(".json").read_text())
    start = datetime.datetime.fromisoformat(meta["start_utc"]).timestamp()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [start + float(p.pts * p.time_base) for p in container.demux(stream) if p.pts is not None]


def largest_gap(times: list[float], start: float, end: float) -> float:
    """The longest time without a picture between `start` and `end`."""
    inside = [start] + [t for t in times if start < t < end] + [end]
    if not any(start < t < end for t in times):
        return end - start
    return max(b - a for a, b in itertools.pairwise(inside))
