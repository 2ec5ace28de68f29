"""Larger UDP receive buffers for the connections that subscribe to guests.

A subscriber's socket gets one guest's media. When the process is not scheduled for a
moment (a busy machine, a long garbage collection), the kernel's default buffer (about
200 kB, well under a second of 720p) overflows and packets are lost for good. A few
megabytes ride out such moments: the frames arrive late, and a recording does not mind.
The kernel caps the size at net.core.rmem_max.

aiortc offers no API for its sockets; they are reached through its ICE gatherer, and
nothing happens when that path is not there.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
_warned = False


def _sockets(pc: Any) -> list[socket.socket]:
    found: dict[int, socket.socket] = {}
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        gatherer = getattr(getattr(dtls, "transport", None), "iceGatherer", None)
        for protocol in getattr(getattr(gatherer, "_connection", None), "_protocols", []):
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                found[sock.fileno()] = sock
    return list(found.values())


def enlarge_receive_buffers(pc: Any, size: int = RECEIVE_BUFFER_BYTES) -> int:
    """Ask for `size` bytes on every socket of the connection (once ICE has gathered);
    returns the smallest size the kernel granted, 0 when no socket was found."""
    global _warned
    granted = []
    for sock in _sockets(pc):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            # Linux reports twice the size asked for (its bookkeeping share included).
            granted.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2)
        except OSError as exc:
            log.debug("receive buffer not set: %s", exc)
    smallest = min(granted, default=0)
    if granted and smallest < size and not _warned:
        _warned = True
        log.warning("UDP receive buffers are capped at %d bytes; under load packets may be lost. "
                    "Raise the cap with: sysctl -w net.core.rmem_max=%d", smallest, size)
    return smallest
