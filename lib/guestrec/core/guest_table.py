"""The guests the studio has now, by id: lookups by name and the selections that
recording and status work on. Data only; what happens to a guest is decided elsewhere."""

from __future__ import annotations

from collections.abc import Iterator

from .guest import Guest


class GuestTable:
    def __init__(self) -> None:
        self._by_id: dict[str, Guest] = {}

    def add(self, guest: Guest) -> None:
        self._by_id[guest.guest_id] = guest

    def remove(self, guest: Guest) -> None:
        self._by_id.pop(guest.guest_id, None)

    def __contains__(self, guest: object) -> bool:
        return isinstance(guest, Guest) and guest.guest_id in self._by_id

    def __iter__(self) -> Iterator[Guest]:
        return iter(list(self._by_id.values()))

    def get(self, name: str) -> Guest | None:
        """The guest of exactly this name."""
        return next((g for g in self._by_id.values() if g.name == name), None)

    def named_alike(self, display: str) -> Guest | None:
        """The guest whose name is `display` up to case (names are unique that way)."""
        wanted = display.casefold()
        return next((g for g in self._by_id.values() if g.name.casefold() == wanted), None)

    def names(self) -> list[str]:
        return [g.name for g in self._by_id.values()]

    def select(self, name: str | None) -> list[Guest]:
        """Every guest for None, else the guest of that name (if any)."""
        guests = list(self._by_id.values())
        return guests if name is None else [g for g in guests if g.name == name]

    def in_order(self) -> list[Guest]:
        """The guests in the order they came."""
        return sorted(self._by_id.values(), key=lambda g: g.created)
