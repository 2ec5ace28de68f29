"""Which of a guest's recordings an editor should use, and why (pure).

The file made in the guest's own browser is free of the network's losses, so it wins when
it is complete and placed on the timeline. Otherwise the studio's recording of what
arrived is used. Either way the reason goes into README.txt.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import SourceFile


@dataclass(frozen=True)
class Choice:
    files: list[SourceFile]
    reason: str


def choose(studio: list[SourceFile], browser: list[SourceFile],
           unplaced_browser: list[str] | None = None) -> Choice:
    """`unplaced_browser`: names of browser files whose place could not be found."""
    unplaced = unplaced_browser or []
    studio = sorted(studio, key=lambda f: f.start)
    browser = sorted(browser, key=lambda f: f.start)
    if browser and not unplaced:
        unfinished = [f for f in browser if f.status != "complete"]
        if not unfinished:
            return Choice(browser, "the guest's browser made it and it is complete (no network losses)")
        if not studio:
            return Choice(browser, "only the browser's file exists, though it is not complete: "
                          + _why_unfinished(unfinished))
        return Choice(studio, "the browser's file is not complete (" + _why_unfinished(unfinished)
                      + "): the studio's recording is used")
    if unplaced:
        if not studio:
            return Choice([], "the browser's file could not be placed on the timeline and the "
                          "studio has no recording of this guest")
        return Choice(studio, f"the browser's file ({', '.join(unplaced)}) could not be placed on "
                      "the timeline: the studio's recording is used")
    return Choice(studio, "recorded at the studio (no recording from the guest's browser)")


def _why_unfinished(files: list[SourceFile]) -> str:
    parts = []
    for f in files:
        reason = f.sidecar.get("reason") or f.sidecar.get("error") or f.status
        parts.append(f"{f.path.name}: {reason}")
    return "; ".join(parts)
