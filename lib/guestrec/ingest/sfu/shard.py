"""Which recorder records which guest: a stable hash of the guest's name, modulo N.

The name (not Janus's feed id, which is new at every join) keeps a guest who rejoins on
the same recorder, so its files stay together. Guests without a name fall back to the id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .videoroom import Publisher


class ShardError(ValueError):
    pass


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written on the command line
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """"I/N" with 1 <= I <= N."""
        left, slash, right = text.partition("/")
        if not slash or not left.strip().isdigit() or not right.strip().isdigit():
            raise ShardError(f"--shard wants I/N, e.g. 1/2 (got {text!r})")
        index, count = int(left), int(right)
        if count < 1 or not 1 <= index <= count:
            raise ShardError(f"--shard {text}: I must be between 1 and N")
        return cls(index, count)

    def takes(self, publisher: Publisher) -> bool:
        return shard_of(publisher, self.count) == self.index - 1


def shard_of(publisher: Publisher, count: int) -> int:
    key = publisher.display.strip().casefold() or f"feed {publisher.feed}"
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
