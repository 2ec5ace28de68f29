"""The context-manager side every test rig shares: built on enter, closed on exit, and a
rig that fails half-way through building is closed before the failure goes on, so no
namespace, link or process of it outlives the test."""

from __future__ import annotations

from typing import TypeVar

R = TypeVar("R", bound="Rig")


class Rig:
    """Subclasses say how to `_build` and `close` (close must cope with a partial build)."""

    def _build(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: R) -> R:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
