"""Reading a media connection's UDP sockets more cheaply than asyncio does by default.

asyncio's datagram transport reads one datagram per wake-up of the loop, into a fresh
256 KiB buffer: large enough that the allocator maps and unmaps memory for every packet,
and one pass through the selector per packet. For a studio receiving hundreds of packets
a second per guest these were the largest single cost on the loop. Here a socket is read
into a buffer sized for a datagram, and up to BATCH datagrams that are already waiting are
taken per wake-up (bounded, so one busy guest cannot hold up the others).

Media (SRTP/SRTCP, first byte 128-191) goes straight to the ICE connection; it can never be
a STUN message (whose first two bits are zero), which aioice would otherwise try to parse
first. Everything else takes aioice's own path.

Only selector event loops (Linux, macOS, and Windows when OBS's loop is a selector loop)
are changed; any other transport is left as it is.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

DATAGRAM_BYTES = 16 * 1024  # well above any WebRTC datagram (an Ethernet frame is 1500)
BATCH = 32  # datagrams read per wake-up at most
_BATCHED = "_guestrec_batched_reads"


def read_in_batches(protocol: Any) -> bool:
    """Make an aioice protocol's transport read as above; False when it cannot be."""
    transport = getattr(protocol, "transport", None)
    if transport is None or transport.__dict__.get(_BATCHED):
        return False
    sock = getattr(transport, "_sock", None)
    fd = getattr(transport, "_sock_fd", None)
    add_reader = getattr(transport, "_add_reader", None)
    if sock is None or fd is None or add_reader is None or not hasattr(transport, "_conn_lost"):
        return False
    transport.max_size = DATAGRAM_BYTES  # for asyncio's own reader too, should it run again
    transport.__dict__[_BATCHED] = True
    add_reader(fd, _reader(transport, protocol, sock))
    return True


def _reader(transport: Any, protocol: Any, sock: Any):
    receiver = protocol.receiver  # aioice's Connection
    component = protocol.local_candidate.component if getattr(protocol, "local_candidate", None) else 1

    def read_ready() -> None:
        for _ in range(BATCH):
            if transport._conn_lost:
                return
            try:
                data, addr = sock.recvfrom(DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                protocol.error_received(exc)
                return
            except Exception as exc:  # noqa: BLE001 - as asyncio's own reader: the transport fails
                transport._fatal_error(exc, "Fatal read error on datagram transport")
                return
            if data and 127 < data[0] < 192:
                receiver.data_received(data, component)
            else:
                protocol.datagram_received(data, addr)

    return read_ready
