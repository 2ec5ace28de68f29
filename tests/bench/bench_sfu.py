"""SFU benchmark: Debian's Janus (in a network namespace) and `guestrec sfu-record` shards.

N guests publish a pre-encoded 720p30 VP8 clip and Opus (replay.py: the senders cost
little) into a VideoRoom room; R recorder processes (copy, the default) each record their
share. CPU is read from /proc (utime + stime of every thread) for Janus, each recorder
and the sending process over the measured window. Needs root (network namespace).

    .venv/bin/python tests/bench/bench_sfu.py --guests 4 --recorders 2 --seconds 20
    .venv/bin/python tests/bench/bench_sfu.py --guests 2,4,8,12 --recorders 1 --seconds 20

Prints, per run: Janus's CPU (% of one core) per guest (one stream in, one out), each
recorder's CPU per guest it records, and whether the recorders kept real time: at least
99% of the frames between each recording's first and last frame written (frames sent
before a subscription began are shown apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "lib")]

import av  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from bench_recording import REAL_TIME_SHARE, count_video_frames, process_cpu_seconds  # noqa: E402
from replay import opus_clip, replay_pair, video_clip  # noqa: E402

from guestrec.ingest.sfu.janus_client import JanusSession  # noqa: E402
from guestrec.ingest.sfu.shard import shard_of  # noqa: E402
from guestrec.ingest.sfu.videoroom import Publisher, PublisherRelay  # noqa: E402
from support.janus_rig import JanusRig, janus_missing_reason  # noqa: E402
from support.sfu_recorder_process import RecorderProcess  # noqa: E402

WARMUP_S = 3.0
FPS = 30


def spread_names(count: int, recorders: int) -> list[str]:
    """Guest names the shard hash deals out evenly, so each recorder gets its part."""
    names: list[str] = []
    per_shard = [0] * recorders
    number = 0
    while len(names) < count:
        number += 1
        name = f"Guest {number}"
        shard = shard_of(Publisher(0, name), recorders)
        if per_shard[shard] < -(-count // recorders):
            per_shard[shard] += 1
            names.append(name)
    return names


class ReplayGuest:
    def __init__(self, rig: JanusRig, name: str, kbps: int) -> None:
        self.rig, self.name = rig, name
        self.audio, self.video = replay_pair(video_clip(kbps=kbps), opus_clip())
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.session = JanusSession(rig.url, rig.api_secret)
        self.relay: PublisherRelay | None = None

    async def publish(self) -> None:
        await self.session.open()
        for track in (self.audio, self.video):
            sender = self.pc.addTransceiver(track, direction="sendonly").sender
            if track is self.video:
                self.video.sender = sender
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.relay = await PublisherRelay.publish(self.session, self.rig.room, self.name,
                                                  self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(self.relay.answer_sdp, "answer"))

    async def hang_up(self) -> None:
        if self.relay is not None:
            await self.relay.leave()
        await self.pc.close()
        await self.session.close()


async def run_guests(rig: JanusRig, count: int, kbps: int, seconds: float,
                     pids: dict[str, int]) -> tuple[dict[str, float], int, float]:
    """Publish, warm up, measure; returns (CPU seconds in the window by process, frames
    sent in all, seconds measured)."""
    guests = [ReplayGuest(rig, name, kbps) for name in spread_names(count, len(pids) - 2)]
    try:
        for guest in guests:
            await guest.publish()
        await asyncio.sleep(WARMUP_S)
        before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = {name: process_cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    finally:
        sent = sum(g.video.sent for g in guests)  # from publishing to hanging up
        await asyncio.gather(*(g.hang_up() for g in guests), return_exceptions=True)
    return cpu, sent, elapsed


def run_one(guests: int, recorders: int, kbps: int, seconds: float, keep: bool = False) -> dict:
    load = os.getloadavg()[0]  # other work on the machine skews every figure
    work = Path(tempfile.mkdtemp(prefix="bench-sfu-"))
    try:
        with JanusRig(work) as rig:
            outs = [work / f"rec{i + 1}" for i in range(recorders)]
            procs = [RecorderProcess(rig, outs[i], f"{i + 1}/{recorders}") for i in range(recorders)]
            try:
                pids = {"janus": rig.pid(), "senders": os.getpid()}
                pids.update({f"recorder {i + 1}": p.proc.pid for i, p in enumerate(procs)})
                cpu, sent, elapsed = asyncio.run(run_guests(rig, guests, kbps, seconds, pids))
            finally:
                for index, proc in enumerate(procs):
                    (work / f"recorder{index + 1}.log").write_text(proc.stop())
            return report(guests, recorders, kbps, cpu, sent, elapsed, outs, load)
    finally:
        if keep:
            print(f"  recordings kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def media_files(out: Path) -> list[Path]:
    """The recordings under a recorder's folder (each run writes into a session folder)."""
    return [p for p in out.rglob("*") if p.suffix in (".webm", ".mkv")]


def report(guests: int, recorders: int, kbps: int, cpu: dict[str, float], sent: int,
           elapsed: float, outs: list[Path], load: float) -> dict:
    """Prints the run's figures and returns them (CPU in % of one core over the window)."""
    def core_percent(seconds: float) -> float:
        return 100 * seconds / elapsed

    streams_out = guests  # each guest is subscribed by the one recorder of its share
    print(f"\n{guests} guests at 720p30 VP8 ~{kbps} kbps + Opus, {recorders} recorder(s), "
          f"{elapsed:.0f} s measured; machine load before: {load:.1f}")
    print(f"  Janus: {core_percent(cpu['janus']):.1f}% of a core in all = "
          f"{core_percent(cpu['janus']) / guests:.2f}% per guest "
          f"({guests} streams in, {streams_out} out: "
          f"{core_percent(cpu['janus']) / (guests + streams_out):.2f}% per stream)")
    print(f"  senders (this process, not the product): {core_percent(cpu['senders']):.1f}% of a core")
    result: dict = {"guests": guests, "seconds": elapsed, "janus_percent": core_percent(cpu["janus"]),
                    "senders_percent": core_percent(cpu["senders"]), "recorders": []}
    for index, out in enumerate(outs):
        files = media_files(out)
        written = sum(count_video_frames(p) for p in files)
        name = f"recorder {index + 1}"
        share = len(files)
        per_guest = core_percent(cpu[name]) / share if share else float("nan")
        lost = packets = 0
        for side in out.rglob("*.json"):
            video = json.loads(side.read_text()).get("network", {}).get("video", {})
            lost += int(video.get("packets_lost") or 0)
            packets += int(video.get("packets") or 0)
        print(f"  {name}: {share} guests, {core_percent(cpu[name]):.1f}% of a core = "
              f"{per_guest:.2f}% per guest; {written} frames written; "
              f"video packets lost before retransmission {lost} of {packets}")
        result["recorders"].append({"files": share, "percent": core_percent(cpu[name]),
                                    "frames_written": written, "packets": packets, "lost": lost})
    spans = [video_span(p) for out in outs for p in media_files(out)]
    written = sum(frames for frames, _ in spans)
    expected = sum(round(seconds * FPS) + 1 for frames, seconds in spans if frames)
    # Real time: no frame missing between each recording's first and last frame. Frames
    # sent before a subscription began (pickup) or after it ended are counted apart.
    kept = written >= REAL_TIME_SHARE * expected
    print(f"  frames sent: {sent}; written: {written}; missing inside the recordings: "
          f"{expected - written} of {expected}; before or after them: {sent - expected}; "
          f"real time: {'yes' if kept else 'NO'}", flush=True)
    result.update(frames_sent=sent, frames_written=written, frames_expected=expected, real_time=kept)
    return result


def video_span(path: Path) -> tuple[int, float]:
    """(video frames, seconds from the first frame to the last) of a recording."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            times = [float(p.pts * p.time_base) for p in container.demux(stream)
                     if p.size and p.pts is not None]
    except (av.FFmpegError, IndexError):
        return 0, 0.0
    return (len(times), max(times) - min(times)) if times else (0, 0.0)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", default="4", help="comma-separated guest counts, one run each")
    parser.add_argument("--recorders", type=int, default=2)
    parser.add_argument("--kbps", type=int, default=2500, help="video bitrate of the replayed clip")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the recordings (and print where)")
    args = parser.parse_args(argv)
    reason = janus_missing_reason()
    if reason:
        sys.exit(reason)
    video_clip(kbps=args.kbps), opus_clip()  # build the cache before timing anything
    return [run_one(guests, args.recorders, args.kbps, args.seconds, args.keep)
            for guests in (int(g) for g in args.guests.split(","))]


if __name__ == "__main__":
    main()
