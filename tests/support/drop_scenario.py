"""One guest's network drops its UDP for a while, in a link rig; it rejoins by itself.

    result = run_drop_scenario(out_dir, outage_s=10.0)   # needs root: see LinkRig.available()

The studio (the real guest server) runs in the rig's studio namespace with a counting sink
per guest; two guests join from the guest namespace: "Rig Guest" (a ReconnectingGuest with
a counter camera) and "Quiet Guest" (audio only, never rejoins, so the studio must notice
its death by itself). The router then drops every UDP packet for `outage_s`, lets them
through again, and the run goes on for `after_s` once Rig Guest is back. Used by
test_reconnect_rig.py and tests/bench/bench_reconnect.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from guestrec.common.names import safe_file_stem

from .counting_sink import CountingSink
from .guest_server import running_server
from .link_rig import STUDIO_ADDR, LinkRig, NetnsLoop
from .media_probe import decoded_video, read_counter
from .reconnecting_guest import ReconnectingGuest
from .whip_client import WhipClient

GUEST, QUIET = "Rig Guest", "Quiet Guest"


@dataclass
class DropResult:
    out_dir: Path
    guest: ReconnectingGuest
    sinks: list[CountingSink]
    block_at: float = 0.0  # wall times
    unblock_at: float = 0.0
    end_at: float = 0.0
    measured: dict[str, float] = field(default_factory=dict)
    studio_after_return: tuple[list[str], list[str]] = ([], [])  # (live names, awaiting return)
    sink_video_after_return: int = 0

    def sink(self, name: str) -> CountingSink:
        (sink,) = [s for s in self.sinks if s.name == name]
        return sink

    def take_parts(self) -> list[tuple[dict, Path]]:
        """(take info, media file) of Rig Guest's recordings, in take order."""
        parts = []
        for side in self.out_dir.rglob(f"{safe_file_stem(GUEST)} *.json"):
            summary = json.loads(side.read_text())
            parts.append((summary["take"], side.parent / summary["file"]))
        return sorted(parts, key=lambda p: p[0]["part"])

    def frames_found(self) -> set[int]:
        found: set[int] = set()
        for _, media in self.take_parts():
            found |= {n for _, n in decoded_video(media, read_counter)}
        return found

    def frames_sent(self, edge_s: float) -> tuple[set[int], set[int]]:
        """(frames sent outside the outage, frames sent during it). Frames within edge_s
        before the cut or before hanging up may still have been on their way."""
        outside = {n for n, t in self.guest.sent
                   if t < self.block_at - edge_s or self.unblock_at < t < self.end_at - edge_s}
        inside = {n for n, t in self.guest.sent if self.block_at <= t <= self.unblock_at}
        return outside, inside

    def when(self, frame: int) -> str:
        """When a frame was sent, relative to the cut, the return and the end (for reports)."""
        t = next((t for n, t in self.guest.sent if n == frame), None)
        if t is None:
            return f"{frame}: never sent"
        return (f"{frame}: cut{t - self.block_at:+.2f} s, back{t - self.unblock_at:+.2f} s, "
                f"end{t - self.end_at:+.2f} s")


async def _join_quietly(url: str, token: str) -> WhipClient:
    # Made on the guest's loop, in the guest's namespace: aiortc binds to the running loop.
    client = WhipClient(url, token, video=False)
    await client.publish()
    await client.wait_connected()
    return client


def run_drop_scenario(out_dir: Path, outage_s: float = 10.0, before_s: float = 4.0,
                      after_s: float = 4.0, prefix: str = "reconnect") -> DropResult:
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    with LinkRig(prefix) as rig:
        studio, home = NetnsLoop(rig.studio, "rig-studio"), NetnsLoop(rig.guest, "rig-guest")
        server_cm = running_server(out_dir, codec="copy", sink_factory=sink_factory, host=STUDIO_ADDR)
        server = guest = quiet = None
        try:
            server = studio.call(server_cm.__aenter__())
            roster = server.sessions

            async def studio_view() -> tuple[list[str], list[str]]:
                return [s["name"] for s in roster.guest_statuses()], roster.awaiting_return()

            guest = ReconnectingGuest(server.whip_url(GUEST), server.token)
            result = DropResult(out_dir, guest, sinks)
            home.call(guest.join(), 30)
            result.measured["connect_s"] = guest.connect_seconds or 0.0
            quiet = home.call(_join_quietly(server.whip_url(QUIET), server.token), 30)
            time.sleep(before_s)

            rig.block_udp()
            result.block_at = time.time()
            while QUIET not in studio.call(studio_view())[1]:
                if time.time() - result.block_at > outage_s:
                    raise AssertionError("the studio did not notice the dead guest during the outage")
                time.sleep(0.1)
            result.measured["studio_noticed_s"] = time.time() - result.block_at
            time.sleep(max(0.0, result.block_at + outage_s - time.time()))
            rig.unblock_udp()
            result.unblock_at = time.time()
            if not guest.drops or guest.drops[0] > result.unblock_at:
                raise AssertionError("the guest did not notice the drop during the outage")
            result.measured["guest_noticed_s"] = guest.drops[0] - result.block_at

            home.call(guest.wait_reconnected(60), 65)
            result.measured["back_after_unblock_s"] = time.time() - result.unblock_at
            result.measured["noticed_to_back_s"] = guest.reconnect_seconds[0]
            result.studio_after_return = studio.call(studio_view())
            sink = result.sink(GUEST)
            video_at_return = sink.counts["video"]
            time.sleep(after_s)
            result.sink_video_after_return = sink.counts["video"] - video_at_return
            result.end_at = time.time()
            home.call(guest.leave(), 30)
            home.call(quiet.close(), 30)
            studio.call(server_cm.__aexit__(None, None, None), 30)
            server = None
            return result
        finally:
            if guest is not None and not guest.left:
                home.call(guest.leave(), 30)
            if quiet is not None:
                home.call(quiet.pc.close(), 30)
            if server is not None:
                studio.call(server_cm.__aexit__(None, None, None), 30)
            home.close()
            studio.close()
