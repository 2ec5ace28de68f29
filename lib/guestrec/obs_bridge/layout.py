"""Where guest sources go in a scene: a grid that fits the canvas, guests side by side.

Every guest source in the scene keeps a cell in the order it was added (scene item id),
so a guest who comes back finds their place, and a departed guest's hidden item keeps
theirs. The grid is laid out again only when a new guest is added. UI thread only.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable

from . import libobs as L


def grid_cells(count: int, width: float, height: float) -> list[tuple[float, float, float, float]]:
    """(x, y, w, h) of `count` cells filling a width x height canvas, row by row; as
    many columns as rows or one more, so 2 guests sit side by side, 4 in a 2x2 grid."""
    if count <= 0:
        return []
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    w, h = width / columns, height / rows
    return [((i % columns) * w, (i // columns) * h, w, h) for i in range(count)]


class SceneLayout:
    def __init__(self, lib: L.LibObs, is_ours: Callable[[int], bool]) -> None:
        self.lib = lib
        self._is_ours = is_ours  # source pointer -> a guest source of this product?

    def _guest_items(self, scene: int) -> list[int]:
        found: list[int] = []

        def visit(_scene, item, _param) -> bool:
            source = self.lib.obs.obs_sceneitem_get_source(item)
            if source and self._is_ours(source):
                found.append(item)
            return True

        callback = L.SCENE_ENUM_FN(visit)  # kept alive for the call
        self.lib.obs.obs_scene_enum_items(scene, callback, None)
        return sorted(found, key=lambda item: self.lib.obs.obs_sceneitem_get_id(item))

    def add_to_grid(self, scene_source: int, source: int) -> None:
        """Add the guest source to the scene and lay out the scene's guests in a grid."""
        obs = self.lib.obs
        scene = obs.obs_scene_from_source(scene_source)
        added = obs.obs_scene_add(scene, source) if scene else 0
        if not added:
            return
        items = self._guest_items(scene)
        if added not in items:  # e.g. while OBS is still loading the scene collection
            items.append(added)
        cells = grid_cells(len(items), float(obs.obs_source_get_width(scene_source)),
                           float(obs.obs_source_get_height(scene_source)))
        for item, (x, y, w, h) in zip(items, cells, strict=True):
            # Fit whatever size the guest's camera sends into the cell, centred.
            obs.obs_sceneitem_set_alignment(item, L.OBS_ALIGN_LEFT | L.OBS_ALIGN_TOP)
            obs.obs_sceneitem_set_bounds_type(item, L.OBS_BOUNDS_SCALE_INNER)
            obs.obs_sceneitem_set_bounds_alignment(item, L.OBS_ALIGN_CENTER)
            obs.obs_sceneitem_set_bounds(item, ctypes.byref(L.Vec2(w, h)))
            obs.obs_sceneitem_set_pos(item, ctypes.byref(L.Vec2(x, y)))

    def set_shown(self, scene_source: int, source_name: str, shown: bool) -> None:
        """Show or hide the guest's item in the scene (a departed guest is hidden)."""
        obs = self.lib.obs
        scene = obs.obs_scene_from_source(scene_source)
        item = obs.obs_scene_find_source(scene, source_name.encode()) if scene else 0
        if item:
            obs.obs_sceneitem_set_visible(item, shown)
