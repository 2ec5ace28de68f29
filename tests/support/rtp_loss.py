"""Packets lost for good on their way to an aiortc receiver (and their retransmissions)."""

from __future__ import annotations


def lose_for_good(receiver, count: int, after_packets: int) -> list[int]:
    """Drop `count` consecutive video packets (and their retransmissions) for good."""
    original = receiver._handle_rtp_packet
    codecs = receiver._RTCRtpReceiver__codecs
    seen = {"n": 0}
    lost: list[int] = []

    async def handle(packet, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is not None and codec.mimeType.lower() == "video/rtx":
            if len(packet.payload) >= 2 and int.from_bytes(packet.payload[:2], "big") in lost:
                return
        elif codec is not None:
            seen["n"] += 1
            if seen["n"] > after_packets and len(lost) < count:
                lost.append(packet.sequence_number)
                return
            if packet.sequence_number in lost:
                return
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle
    return lost
