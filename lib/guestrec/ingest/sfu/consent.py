"""ICE consent checks for connections to Janus: aioice's own pace, not the studio's quick one.

The guest core checks consent every second and gives up after 4 misses, to notice a
vanished WHIP guest in seconds (core/liveness.py). Through an SFU the guest's coming and
going is told by Janus's room events, and a lost Janus by its API, so the quick check buys
nothing there. It costs, though: a subscriber socket holds a backlog of media when its
process is busy (see receive_buffers), the check's answer waits behind it, and four late
answers drop a healthy connection. aioice reads both values from its module at every
check, for every connection of the process; a process with an SFU ingest has no other.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

CONSENT_INTERVAL_S = 5.0  # aioice's own default
CONSENT_MISSES = 6


def pace_consent_checks_for_sfu() -> bool:
    """Back to aioice's pace (about 30 s to give up); False when aioice has no such settings."""
    try:
        from aioice import ice
    except ImportError:
        return False
    if not (hasattr(ice, "CONSENT_INTERVAL") and hasattr(ice, "CONSENT_FAILURES")):
        return False
    ice.CONSENT_INTERVAL = CONSENT_INTERVAL_S
    ice.CONSENT_FAILURES = CONSENT_MISSES
    return True
