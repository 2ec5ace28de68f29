"""Who gets a slot: offers still connecting have their own small, short-lived budget.

A guest whose offer was answered but whose connection has not come up yet is "pending".
Pending guests cost the studio a peer connection each, and an offer costs an attacker
nothing, so they are limited apart from the guests that did connect:

- at most MAX_PENDING pending guests in all, MAX_PENDING_PER_ADDRESS from one address;
- when a budget is full, the oldest pending guest that has had EVICTABLE_AFTER_S to
  connect (a real guest on a LAN connects within a second or two; through TURN within a
  few) gives way to the new offer; only when none is that old is the new offer refused.

Connected guests are limited by MAX_GUESTS as before, so offers that never connect can no
longer lock real guests out. A guest reconnecting under its name is a new offer like any.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..common.interfaces import OfferRejected
from .guest import Guest

MAX_GUESTS = 16
MAX_PENDING = 6
MAX_PENDING_PER_ADDRESS = 3
EVICTABLE_AFTER_S = 5.0


@dataclass
class Decision:
    evict: Guest | None = None


def decide(
    guests: Iterable[Guest], reserved: int, peer: str | None,
    now: float | None = None, max_guests: int = MAX_GUESTS,
) -> Decision:
    """Whether an offer from `peer` may be answered, and which pending guest gives way.
    `reserved`: names held for guests being set up or coming back. Raises OfferRejected
    (503) with the reason otherwise."""
    now = time.time() if now is None else now
    live = [g for g in guests if not g.ended]
    connected = [g for g in live if g.connected_once]
    pending = sorted((g for g in live if not g.connected_once), key=lambda g: g.created)
    if len(connected) + reserved >= max_guests:
        raise OfferRejected(f"too many guests (at most {max_guests})", 503)
    same = [g for g in pending if peer is not None and g.peer == peer]
    for group, limit, who in ((same, MAX_PENDING_PER_ADDRESS, "from your address"),
                              (pending, MAX_PENDING, "in all")):
        if len(group) + (reserved if group is pending else 0) < limit:
            continue
        oldest = group[0]
        waited = now - oldest.created
        if waited >= EVICTABLE_AFTER_S:
            return Decision(evict=oldest)
        # By then the oldest has connected or can give way: the client may simply retry.
        raise OfferRejected(
            f"too many guests still connecting {who} (at most {limit}); try again in a few seconds", 503,
            retry_after=max(1, math.ceil(EVICTABLE_AFTER_S - waited)))
    return Decision()
