"""A guest whose network drops its UDP for 10 s (a router in a network namespace rig
drops it) comes back under the same name, into the same sink, and the parts of its take
hold every frame it sent outside the outage. A second guest on that network, which does
not rejoin, shows how soon the studio notices a dead guest on its own.

Studio and guest run in this process, each on its own loop in its own namespace (see
support/link_rig.py); the guest rejoins as the guest page does (support/reconnecting_guest.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.counting_sink import CountingSink
from support.guest_server import running_server
from support.link_rig import STUDIO_ADDR, LinkRig, NetnsLoop
from support.media_probe import decoded_video, read_counter
from support.reconnecting_guest import ReconnectingGuest
from support.whip_client import WhipClient

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LinkRig.available() is not None, reason=str(LinkRig.available())),
]

OUTAGE_S = 10.0
# Frames sent this close before the cut may still be on their way (aiortc's jitter buffer
# hands a frame on when the next one starts), and so may the last ones before hanging up.
EDGE_S = 0.3


def take_parts(folder: Path, prefix: str) -> list[tuple[dict, Path]]:
    """(take info, media file) of the guest's recordings in the folder, in take order."""
    parts = []
    for side in folder.glob(f"{prefix}*.json"):
        summary = json.loads(side.read_text())
        media = folder / summary["file"]
        parts.append((summary["take"], media))
    return sorted(parts, key=lambda p: p[0]["part"])


def test_guest_whose_udp_drops_for_10s_comes_back_into_its_source_and_take(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    sinks: list[CountingSink] = []

    def sink_factory(name: str) -> CountingSink:
        sinks.append(CountingSink(name))
        return sinks[-1]

    measured: dict[str, float] = {}
    with LinkRig("reconnect") as rig:
        studio, home = NetnsLoop(rig.studio, "rig-studio"), NetnsLoop(rig.guest, "rig-guest")
        server_cm = running_server(out, codec="copy", sink_factory=sink_factory, host=STUDIO_ADDR)
        server = guest = None
        try:
            server = studio.call(server_cm.__aenter__())
            roster = server.sessions

            async def studio_view() -> tuple[list[str], list[str]]:
                return [s["name"] for s in roster.guest_statuses()], roster.awaiting_return()

            guest = ReconnectingGuest(server.whip_url("Rig Guest"), server.token)
            home.call(guest.join(), 30)
            measured["connect_s"] = guest.connect_seconds or 0.0
            quiet = WhipClient(server.whip_url("Quiet Guest"), server.token, video=False)
            home.call(quiet.publish(), 30)
            home.call(quiet.wait_connected(), 30)
            time.sleep(4)

            rig.block_udp()
            block_at = time.time()
            # The quiet guest never comes back: the studio must notice it is dead by
            # itself (ICE consent), free its slot and keep its name.
            while "Quiet Guest" not in studio.call(studio_view())[1]:
                assert time.time() - block_at < OUTAGE_S, "the studio did not notice the drop"
                time.sleep(0.1)
            measured["studio_noticed_s"] = time.time() - block_at
            time.sleep(max(0.0, block_at + OUTAGE_S - time.time()))
            rig.unblock_udp()
            unblock_at = time.time()
            assert guest.drops and guest.drops[0] < unblock_at, "the guest did not notice the drop"
            measured["guest_noticed_s"] = guest.drops[0] - block_at

            home.call(guest.wait_reconnected(60), 65)
            measured["back_after_unblock_s"] = time.time() - unblock_at
            measured["noticed_to_back_s"] = guest.reconnect_seconds[0]
            assert studio.call(studio_view()) == (["Rig Guest"], ["Quiet Guest"])
            (sink,) = [s for s in sinks if s.name == "Rig Guest"]
            video_before = sink.counts["video"]
            time.sleep(4)
            assert sink.counts["video"] > video_before + 30  # the same sink shows her again
            end_at = time.time()
            home.call(guest.leave(), 30)
            home.call(quiet.close(), 30)
            studio.call(server_cm.__aexit__(None, None, None), 30)
            server = None
        finally:
            if guest is not None and not guest.left:
                home.call(guest.leave(), 30)
            if server is not None:
                studio.call(server_cm.__aexit__(None, None, None), 30)
            home.close()
            studio.close()

    print("\nreconnect rig:", json.dumps({k: round(v, 2) for k, v in measured.items()}),
          f"attempts={guest.attempts}")
    assert guest.names == ["Rig Guest", "Rig Guest"]
    # One sink (OBS source) for both of her connections, told once, ended once.
    (sink,) = [s for s in sinks if s.name == "Rig Guest"]
    assert len(sinks) == 2 and sink.counts["connected"] == 1 and sink.counts["disconnected"] == 1

    parts = take_parts(out, "Rig_Guest_")
    assert len(parts) == 2, parts
    (take1, file1), (take2, file2) = parts
    assert take1["id"] == take2["id"] and (take1["part"], take2["part"]) == (1, 2)
    assert take1["next_file"] == file2.name and take2["previous_file"] == file1.name

    found: set[int] = set()
    for _, media in parts:
        found |= {n for _, n in decoded_video(media, read_counter)}
    outside = {n for n, t in guest.sent
               if t < block_at - EDGE_S or unblock_at < t < end_at - EDGE_S}
    inside = {n for n, t in guest.sent if block_at <= t <= unblock_at}
    missing = sorted(outside - found)
    print(f"frames sent outside the outage: {len(outside)}, in the parts: {len(outside & found)},"
          f" missing: {missing[:20]}; sent during the outage: {len(inside)}")
    assert len(outside) > 100 and not missing
