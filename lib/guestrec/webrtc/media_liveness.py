"""A peer that keeps sending is alive, even if it does not answer ICE consent checks.

FFmpeg's WHIP muxer (FFmpeg 8) answers STUN checks only while it connects: once its DTLS
handshake is done it reads its socket for DTLS alone, so every consent check the studio
sends afterwards goes unanswered (it sends its own binding request every 5 s instead).
With the studio's quick consent (core/liveness.py: 1 s, 4 misses) FFmpeg was cut about
5 s after it connected; with aioice's own pace (5 s, 6 misses) after 30 s.

So the consent loop here counts a check as answered when the STUN answer came OR when
anything else arrived from the peer while the check waited for it (SRTP, SRTCP, DTLS:
aioice hands every non-STUN datagram to `Connection.data_received`; a publisher sends
dozens a second, the wait is aioice's 0.5 s). A vanished peer sends
nothing, answers nothing, and is dropped after the same few checks as before; a live
publisher that ignores consent checks stays. The pace and the number of misses are still
aioice's module values (CONSENT_INTERVAL, CONSENT_FAILURES), read at every check, so
core/liveness.py and ingest/sfu/consent.py keep setting them.

aioice offers no hook for this, so two methods of `aioice.ice.Connection` are replaced for
the whole process (as its consent values are process-wide too): `data_received` counts
and passes on, `query_consent` is the loop above. Installing again (a script reload)
replaces them again without wrapping twice.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from typing import Any

log = logging.getLogger(__name__)

_HEARD = "_guestrec_datagrams_heard"  # per connection: datagrams received so far
_AIOICE_DATA_RECEIVED = "_guestrec_aioice_data_received"  # aioice's own, kept on the class
_QUIET_NOTED = "_guestrec_quiet_consent_noted"


def count_media_as_liveness() -> bool:
    """Install the consent loop above into aioice; False (and logged) when this aioice
    does not look like the one it was written for (then aioice's own loop stays)."""
    try:
        from aioice import ice, stun
    except ImportError:
        return False
    connection = ice.Connection
    fits = (
        inspect.iscoroutinefunction(getattr(connection, "query_consent", None))
        and callable(getattr(connection, "data_received", None))
        and callable(getattr(connection, "build_request", None))
        and hasattr(stun, "TransactionError")
        and hasattr(ice, "CONSENT_INTERVAL") and hasattr(ice, "CONSENT_FAILURES")
    )
    if not fits:
        log.warning("this aioice differs from the one expected; a publisher that does not answer "
                    "ICE consent checks (FFmpeg's WHIP) may be dropped while it still sends")
        return False
    aioice_data_received = connection.__dict__.get(_AIOICE_DATA_RECEIVED) or connection.data_received
    setattr(connection, _AIOICE_DATA_RECEIVED, aioice_data_received)
    connection.data_received = _counting(aioice_data_received)
    connection.query_consent = _query_consent
    return True


def datagrams_heard(connection: Any) -> int:
    """Non-STUN datagrams the connection has received so far."""
    return connection.__dict__.get(_HEARD, 0)


def note_heard(connection: Any) -> None:
    """Count a datagram taken from the connection by another path (media/direct_receive.py)."""
    connection.__dict__[_HEARD] = connection.__dict__.get(_HEARD, 0) + 1


def _counting(aioice_data_received):
    def data_received(self, data: bytes, component: int) -> None:
        self.__dict__[_HEARD] = self.__dict__.get(_HEARD, 0) + 1
        aioice_data_received(self, data, component)

    data_received.__doc__ = aioice_data_received.__doc__
    return data_received


async def _consent_answered(connection: Any, pair: Any, stun: Any) -> bool:
    request = connection.build_request(pair, nominate=False)
    try:
        await pair.protocol.request(
            request, pair.remote_addr,
            integrity_key=connection.remote_password.encode("utf8"), retransmissions=0)
    except stun.TransactionError:
        return False
    return True


async def _query_consent(self) -> None:
    """RFC 7675 consent freshness, with received media counting as an answer."""
    from aioice import ice, stun

    assert self.remote_password is not None  # set by connect() before it starts this loop
    misses = 0
    while True:
        await asyncio.sleep(ice.CONSENT_INTERVAL * random.uniform(0.8, 1.2))
        for pair in list(self._nominated.values()):
            # Only what arrives while the check waits counts: a window that began before a
            # peer vanished would keep it one check longer.
            heard_before = datagrams_heard(self)
            answered = await _consent_answered(self, pair, stun)
            if answered or datagrams_heard(self) != heard_before:
                if not answered:
                    _note_quiet_peer(self)
                misses = 0
            else:
                misses += 1
            if misses >= ice.CONSENT_FAILURES:
                log.info("%s: no answer to %d consent checks and nothing received: closing", self, misses)
                self._query_consent_task = None  # close() must not cancel the task running it
                await self.close()
                return


def _note_quiet_peer(connection: Any) -> None:
    if not connection.__dict__.get(_QUIET_NOTED):
        connection.__dict__[_QUIET_NOTED] = True
        log.info("%s: the peer does not answer ICE consent checks; what it sends keeps it connected",
                 connection)
