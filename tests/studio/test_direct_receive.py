"""Media taken at the socket (media/direct_receive.py) between two real aiortc peers: every
RTP packet goes the direct way, the copy recording holds every frame, NACKs bring lost
packets back, REMB still reaches a publisher, and a Janus-style subscription sends none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket

from guestrec.common.plan import make_plan
from guestrec.media.direct_receive import NackTracker, without_bitrate_estimate
from support.guest_run import GuestSpec, record_guests
from support.media_probe import decoded_video, read_counter
from support.synthetic import CounterVideoTrack, ToneAudioTrack

SECONDS = 8.0


def count_rembs(pc: Any, counted: dict[str, int]) -> None:
    """Count in `counted["remb"]` the REMB packets the publisher's video sender receives."""
    counted["remb"] = 0
    for sender in pc.getSenders():
        if sender.track is None or sender.track.kind != "video":
            continue
        original = sender._handle_rtcp_packet

        async def handle(packet: Any, _orig=original) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                counted["remb"] += 1
            await _orig(packet)

        sender._handle_rtcp_packet = handle


def drop_on_the_wire(pc: Any, every: int, dropped: dict[str, int]) -> None:
    """The publisher's every `every`-th video datagram never arrives (lost on the way), once
    each: the retransmission NACKs ask for (a sequence number sent before, or RTX's) comes
    through. (The receiver asks once per gap, as aiortc does: a lost retransmission would
    cost a keyframe's wait, which is not what this test looks at.)"""
    dropped.update(n=0, seen=0)
    sent: set[bytes] = set()  # SSRC and sequence number of every video packet sent once
    rtx = {t.sender._rtx_ssrc.to_bytes(4, "big") for t in pc.getTransceivers() if t.kind == "video"}
    connection = pc.getTransceivers()[0].sender.transport.transport._connection
    assert connection._protocols
    for protocol in connection._protocols:
        original = protocol.send_data

        async def send_data(data: bytes, addr: Any, _orig=original) -> None:
            if len(data) > 300 and 127 < data[0] < 192 and not 192 <= data[1] <= 223:  # video RTP
                key = data[2:4] + data[8:12]  # clear in SRTP too
                first = key not in sent and data[8:12] not in rtx
                sent.add(key)
                dropped["seen"] += 1
                if first and dropped["seen"] % every == 0:
                    dropped["n"] += 1
                    return
            await _orig(data, addr)

        protocol.send_data = send_data


def run_guest(tmp_path: Path, on_pair=None, subscriber: bool = False):
    video = CounterVideoTrack(320, 240)
    rembs: dict[str, int] = {}
    spec = GuestSpec("direct", [video, ToneAudioTrack()], make_plan(1000, codec="copy"), tmp_path)

    async def go():
        from support import guest_run

        made: list[Any] = []
        real_pair = guest_run.PeerPair

        class Pair(real_pair):  # the pair's two connections, kept for the checks
            async def start(self) -> None:
                made.append(self)
                await super().start()
                count_rembs(self.sender, rembs)
                if on_pair is not None:
                    on_pair(self)
                if subscriber:
                    without_bitrate_estimate(self.receiver)

        guest_run.PeerPair = Pair
        try:
            (result,) = await record_guests([spec], seconds=SECONDS, warmup=0.5)
        finally:
            guest_run.PeerPair = real_pair
        return result, made[0]

    return asyncio.run(go()), rembs


def direct_packets(pair: Any) -> int:
    connection = pair.receiver.getTransceivers()[0].receiver.transport.transport._connection
    return connection.__dict__["_guestrec_direct_receive"].packets


def test_every_packet_goes_the_direct_way_and_every_frame_is_written(tmp_path: Path) -> None:
    (result, pair), rembs = run_guest(tmp_path)
    network = result.summary["network"]["video"]
    assert direct_packets(pair) >= network["packets"] > 100
    numbers = [n for _, n in decoded_video(result.path, read_counter)]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no frame missing
    assert len(numbers) >= 0.95 * SECONDS * 30 * 0.9
    assert rembs["remb"] >= 2  # a browser publisher still gets its bitrate estimate


def test_lost_packets_come_back_through_nacks(tmp_path: Path) -> None:
    dropped: dict[str, int] = {}

    (result, _), _ = run_guest(tmp_path, on_pair=lambda pair: drop_on_the_wire(pair.sender, 40, dropped))
    network = result.summary["network"]["video"]
    print(f"dropped {dropped}; {network}")
    assert dropped["n"] >= 5
    numbers = [n for _, n in decoded_video(result.path, read_counter)]
    missing = (numbers[-1] - numbers[0] + 1) - len(numbers)
    # Without NACKs 69-103 frames go missing here. With them, in about one run of four one lost
    # packet is not recovered and the picture waits for the next keyframe (16 frames): a
    # known defect (README, "Limits and known defects"); more than that fails.
    assert missing <= 20, f"{missing} frames missing although lost packets are asked for again"


def test_a_janus_subscription_sends_no_bitrate_estimate(tmp_path: Path) -> None:
    (result, _), rembs = run_guest(tmp_path, subscriber=True)
    assert result.summary["network"]["video"]["frames"] > 100
    assert rembs["remb"] == 0


def test_nack_tracker_finds_gaps_across_the_wrap_and_forgets_old_ones() -> None:
    nacks = NackTracker()
    assert not nacks.add(65533)
    assert nacks.add(1)  # 65534, 65535 and 0 missing
    assert nacks.missing == {65534, 65535, 0}
    assert not nacks.add(65535)  # a late one
    assert nacks.missing == {65534, 0}
    for seq in range(2, 200):
        nacks.add(seq)
    assert nacks.missing == set()  # too old to ask for
    assert nacks.add(1000)  # a jump asks for the newest 128 only
    assert len(nacks.missing) == 128 and max(nacks.missing) == 999
