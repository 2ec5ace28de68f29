"""A guest's screen share: a second connection from the same guest page, shown and
recorded as a guest of its own, "<name> (screen)", linked to the guest who shares it (its
owner, by the owner's continuity, so the link survives the owner's reconnections).

A screen share ends when its page stops sharing, when its connection is lost (it is never
held for a return: the guest shares again instead) and when its owner is gone for good.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..common.names import MAX_NAME_CHARS, display_name
from .continuity import Continuity
from .guest import Guest

SCREEN_SUFFIX = " (screen)"

# Written for the guest: the guest page shows them as they are.
NO_OWNER = ("Your camera's connection to the studio has ended, so your screen cannot be "
            "shared. Join again, then share your screen.")
SOUND_ONLY = "This studio records sound only, so it does not take screen shares."
NOT_HERE = "Screen sharing does not work with this studio's set-up."


def screen_name(owner: str) -> str:
    """The screen's guest name: "Ann" shares "Ann (screen)", the suffix always kept."""
    base = display_name(owner)[: MAX_NAME_CHARS - len(SCREEN_SUFFIX)].rstrip()
    return base + SCREEN_SUFFIX


def screens_of(guests: Iterable[Guest], owner: Continuity) -> list[Guest]:
    """The owner's screen shares still running."""
    return [g for g in guests if g.screen_of is owner and not g.ended]
