"""Which guest names are taken: by live guests (the roster's), by guests still being set
up, and by dropped guests waiting for their return (see continuity.py). Runs on the loop."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..common.names import display_name
from .continuity import Continuity, ReservationBook


class GuestNames:
    def __init__(self, on_return_ended: Callable[[Continuity], None]) -> None:
        self._pending: set[str] = set()  # names of guests still being set up
        self._claims: dict[str, Continuity] = {}  # pending names that resume a dropped guest
        self.returning = ReservationBook(on_ended=on_return_ended)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def reserve(self, requested: str, live: Iterable[str]) -> str:
        """The guest's display name, with " 2", " 3"... when another guest has it; held
        until `admitted` or `release`."""
        base = display_name(requested)
        taken = {n.casefold() for n in (*live, *self._pending, *self.returning.names())}
        name = base
        number = 2
        while name.casefold() in taken:
            name = f"{base} {number}"
            number += 1
        self._pending.add(name)
        return name

    def claim(self, requested: str, secret: str) -> str | None:
        """The dropped guest's own name when the secret is its own (then held, with what
        it had, for `admitted`), else None."""
        continuity = self.returning.claim(display_name(requested), secret)
        if continuity is None:
            return None
        self._pending.add(continuity.name)
        self._claims[continuity.name] = continuity
        return continuity.name

    def resuming(self, name: str) -> bool:
        """Whether `name` was claimed back by its returning guest (not yet admitted)."""
        return name in self._claims

    def admitted(self, name: str) -> Continuity | None:
        """The name is a guest's now; returns what a returning guest takes back."""
        self._pending.discard(name)
        return self._claims.pop(name, None)

    def release(self, name: str) -> None:
        """The offer for a pending name failed."""
        self._pending.discard(name)
        continuity = self._claims.pop(name, None)
        if continuity is not None:  # a returning guest's offer: wait on for it
            self.returning.hold(continuity)

    def forget(self, continuity: Continuity) -> None:
        """A dropped guest said it left for good (e.g. its late DELETE): its name is free."""
        if any(held is continuity for held in self.returning.held()):
            self.returning.drop(continuity.name)
