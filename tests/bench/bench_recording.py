"""Recording benchmark: N synthetic 720p30 guests at ~6 Mbps on loopback, per mode.

Senders replay a pre-encoded VP8 + Opus clip (see replay.py), so they cost little; the
receiver runs in its own process and only its CPU is counted (utime + stime of all its
threads, from /proc). Modes:
  copy      guestrec serve --codec copy        (no decode, no encode)
  vp8       guestrec serve --codec vp8 --record 6000
  baseline  aiortc's MediaRecorder (baseline_receiver.py)

    .venv/bin/python tests/bench/bench_recording.py --modes copy,vp8,baseline --guests 1,2,4,8 --seconds 30

Prints one row per (mode, guests): receiver CPU seconds per guest-minute, frames sent and
written, and whether every guest was kept in real time (>= 99% of sent frames written).
The frames written are counted in every recording under the output folder (the server
writes each run into a session folder). `--size` and `--kbps` change the replayed clip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "lib")]

import av  # noqa: E402
from replay import Clip, opus_clip, replay_pair, video_clip  # noqa: E402

from obs_launcher.obs_config import free_port  # noqa: E402
from support.whip_client import WhipClient, WhipError  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REAL_TIME_SHARE = 0.99


@dataclass
class Row:
    mode: str
    guests: int
    seconds: float
    cpu_seconds: float
    frames_sent: int
    frames_written: int
    files: int

    @property
    def cpu_per_guest_minute(self) -> float:
        return self.cpu_seconds / (self.guests * self.seconds / 60)

    @property
    def real_time(self) -> bool:
        return self.files >= self.guests and self.frames_written >= REAL_TIME_SHARE * self.frames_sent


@dataclass(frozen=True)
class ClipSpec:
    """The VP8 clip every guest replays."""

    width: int = 1280
    height: int = 720
    kbps: int = 6000

    def video(self) -> Clip:
        return video_clip(self.width, self.height, kbps=self.kbps)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_receiver(mode: str, port: int, out: Path, token: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    if mode == "baseline":
        cmd = [sys.executable, str(HERE / "baseline_receiver.py"), "--port", str(port), "--out", str(out)]
        ready = "ready"
    else:
        cmd = [sys.executable, "-m", "guestrec", "serve", "--port", str(port), "--out", str(out),
               "--token", token, "--codec", mode, "--record", "6000"]
        ready = "Guest link"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{mode} receiver exited with {proc.wait()}")
        if ready in line:
            # Read the rest as it comes: a full pipe would block the server's logging, and
            # with it the loop that receives every guest (frames lost to the benchmark).
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc
    proc.kill()
    raise RuntimeError(f"{mode} receiver did not start")


def _drain(stream) -> None:
    for _ in stream:
        pass


def count_video_frames(path: Path) -> int:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return 0
            return sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    except av.FFmpegError:
        return 0


async def publish_when_let_in(port: int, token: str, index: int, tracks: list) -> WhipClient:
    """Publish as the guest page does: a studio still connecting others answers 503 (a
    few offers per address at a time), and the offer is sent again a moment later."""
    for _ in range(60):
        client = WhipClient(f"http://127.0.0.1:{port}/whip/guest{index}", token=token,
                            tracks=tracks, data_channel=False)
        try:
            await client.publish()
            return client
        except WhipError as exc:
            await client.close()
            if exc.status != 503:
                raise
            await asyncio.sleep(0.5)
    raise RuntimeError(f"guest{index} was not let in within 30 s")


async def run_guests(port: int, token: str, guests: int, seconds: float, clip: ClipSpec) -> int:
    video, audio = clip.video(), opus_clip()
    clients, tracks = [], []
    for index in range(guests):
        audio_track, video_track = replay_pair(video, audio)
        client = await publish_when_let_in(port, token, index, [audio_track, video_track])
        for sender in client.pc.getSenders():
            if sender.track is video_track:
                video_track.sender = sender
        clients.append(client)
        tracks.append(video_track)
    await asyncio.gather(*(c.wait_connected(15) for c in clients))
    await asyncio.sleep(seconds)
    sent = sum(t.sent for t in tracks)
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return sent


def media_files(out: Path) -> list[Path]:
    """Every recording under `out`: the server writes into a session folder per run."""
    return sorted(p for p in out.rglob("*") if p.suffix in (".webm", ".mkv"))


def run_one(mode: str, guests: int, seconds: float, clip: ClipSpec) -> Row:
    out = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    port, token = free_port(), secrets.token_hex(8)
    proc = start_receiver(mode, port, out, token)
    try:
        cpu_before = process_cpu_seconds(proc.pid)
        started = time.monotonic()
        sent = asyncio.run(run_guests(port, token, guests, seconds, clip))
        elapsed = time.monotonic() - started
        cpu = process_cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    files = media_files(out)
    written = sum(count_video_frames(p) for p in files)
    shutil.rmtree(out, ignore_errors=True)
    return Row(mode, guests, elapsed, cpu, sent, written, len(files))


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="copy,vp8,baseline")
    parser.add_argument("--guests", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--size", default="1280x720", help="picture size of the replayed clip")
    parser.add_argument("--kbps", type=int, default=6000, help="video bitrate of the replayed clip")
    parser.add_argument("--stop-after-miss", action="store_true",
                        help="per mode, stop raising the guest count once real time is missed")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    clip = ClipSpec(width, height, args.kbps)
    clip.video(), opus_clip()  # build the cache before timing anything
    print(f"{'mode':9} {'guests':>6} {'secs':>5} {'cpu s/guest-min':>16} {'sent':>7} {'written':>8} "
          f"{'real time':>9}")
    rows: list[Row] = []
    best: dict[str, int] = {}
    for mode in args.modes.split(","):
        for guests in (int(g) for g in args.guests.split(",")):
            row = run_one(mode, guests, args.seconds, clip)
            rows.append(row)
            print(f"{row.mode:9} {row.guests:>6} {row.seconds:>5.0f} {row.cpu_per_guest_minute:>16.2f} "
                  f"{row.frames_sent:>7} {row.frames_written:>8} {'yes' if row.real_time else 'NO':>9}",
                  flush=True)
            if row.real_time:
                best[mode] = max(best.get(mode, 0), guests)
            elif args.stop_after_miss:
                break
    for mode in args.modes.split(","):
        print(f"most guests kept in real time, {mode}: {best.get(mode, 0)}")
    return rows


if __name__ == "__main__":
    main()
