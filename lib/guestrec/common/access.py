"""Who may join, and which WHIP session belongs to whom: the seam between the WHIP routes
and whatever decides about credentials (one shared token, or the studio's invites).

A credential a guest presents is turned into a `GuestPass` (who holds it, the name the
studio gives its holder, whether it serves one connection at a time). A WHIP session
belongs to the pass that opened it: leaving or changing it needs that same pass, so one
guest cannot end another's session even when both know its address.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Sessions remembered for their owner after they ended on their own (a late DELETE).
OWNERS_KEPT = 4096


@dataclass(frozen=True)
class GuestPass:
    holder: str  # who holds the credential: "guest-link", or "invite:<id>"
    name: str | None = None  # the name the studio gives whoever holds it, whatever they type
    single: bool = False  # usable by one connection at a time


SHARED_PASS = GuestPass("guest-link")


class AccessRefused(Exception):
    """A known credential that may not do this now; `reason` is written for the guest."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


IN_USE = ("This invite link is in use by another connection right now; it lets one "
          "connection in at a time. Close the other tab or device, then join again.")


class GuestGate:
    """Turns credentials into passes (subclasses: `identify`, `check_join`) and keeps
    which session each pass opened. Runs on the loop, except where a subclass says."""

    def __init__(self) -> None:
        self._owners: OrderedDict[str, str] = OrderedDict()  # session id -> holder
        self._session_of: dict[str, str] = {}  # holder -> its latest session (single passes)
        self._joining: set[str] = set()  # single passes with an offer being answered

    def identify(self, credential: str | None) -> GuestPass | None:
        """The pass a credential stands for, None for an unknown one."""
        raise NotImplementedError

    def check_join(self, guest_pass: GuestPass) -> None:
        """Raises AccessRefused when this pass may not bring a guest in now."""

    def joined(self, guest_pass: GuestPass, session_id: str, name: str) -> None:
        """A guest came in with this pass under `name` (subclasses note it)."""

    # -- sessions ------------------------------------------------------------------

    @contextmanager
    def joining(self, guest_pass: GuestPass) -> Iterator[None]:
        """While an offer with this pass is answered; a single pass admits one at a time."""
        if not guest_pass.single:
            yield
            return
        if guest_pass.holder in self._joining:
            raise AccessRefused(409, IN_USE)
        self._joining.add(guest_pass.holder)
        try:
            yield
        finally:
            self._joining.discard(guest_pass.holder)

    def open_session_of(self, guest_pass: GuestPass, is_open: Callable[[str], bool]) -> str | None:
        """The session a single pass has open now, else None."""
        if not guest_pass.single:
            return None
        session_id = self._session_of.get(guest_pass.holder)
        return session_id if session_id is not None and is_open(session_id) else None

    def opened(self, session_id: str, guest_pass: GuestPass, name: str) -> None:
        self._owners[session_id] = guest_pass.holder
        while len(self._owners) > OWNERS_KEPT:
            self._owners.popitem(last=False)
        if guest_pass.single:
            self._session_of[guest_pass.holder] = session_id
        self.joined(guest_pass, session_id, name)

    def opened_beside(self, session_id: str, guest_pass: GuestPass) -> None:
        """A second session of a guest already in (its screen share): it belongs to the
        pass, but the pass's one connection stays the guest's own."""
        self._owners[session_id] = guest_pass.holder
        while len(self._owners) > OWNERS_KEPT:
            self._owners.popitem(last=False)

    def owns(self, session_id: str, guest_pass: GuestPass) -> bool:
        owner = self._owners.get(session_id)
        return owner is not None and hmac.compare_digest(owner, guest_pass.holder)

    def closed(self, session_id: str) -> None:
        holder = self._owners.pop(session_id, None)
        if holder is not None and self._session_of.get(holder) == session_id:
            del self._session_of[holder]

    def session_holders(self) -> dict[str, str]:
        """Holder -> its latest session, for single passes."""
        return dict(self._session_of)


class SharedTokenGate(GuestGate):
    """Every guest holds the same token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def identify(self, credential: str | None) -> GuestPass | None:
        if not credential or not self._token:
            return None
        # Constant time, so the token cannot be guessed byte by byte from response times.
        if hmac.compare_digest(credential.encode("utf-8"), self._token.encode("utf-8")):
            return SHARED_PASS
        return None
