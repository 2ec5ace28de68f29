"""Checking a page's layout at a given size: its elements' boxes (from a BOXES script the
test gives, which also reports `_width` and `_scrollWidth`), a screenshot kept where
GUESTREC_SCREENSHOTS points, and the checks every layout must pass."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any

Box = tuple[float, float, float, float]  # left, top, right, bottom


async def boxes_and_screenshot(page: Any, boxes_script: str, shot: Path) -> dict[str, Any]:
    """The boxes the script reports, and a full-page PNG written to `shot`."""
    boxes = await page.evaluate(boxes_script)
    result = await page.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    shot.write_bytes(base64.b64decode(result["data"]))
    return boxes


def keep_screenshot(shot: Path) -> None:
    """Copy the screenshot where GUESTREC_SCREENSHOTS says, to look at by eye."""
    folder = os.environ.get("GUESTREC_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(folder) / shot.name)


def assert_fits(boxes: dict[str, Any]) -> float:
    """No sideways scrolling, every element on screen and not squashed; returns the page's
    width (the `_width` and `_scrollWidth` entries are taken out of `boxes`)."""
    page_width = boxes.pop("_width")
    assert boxes.pop("_scrollWidth") <= page_width, "the page scrolls sideways"
    for name, (left, top, right, bottom) in boxes.items():
        assert left >= 0 and right <= page_width + 0.5, f"{name} is off-screen: {boxes[name]}"
        assert right - left > 10 and bottom - top > 5, f"{name} is squashed: {boxes[name]}"
    return page_width
