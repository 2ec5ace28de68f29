"""The "WebRTC Guest" source type, registered with libobs once per process.

libobs keeps the obs_source_info callbacks for the life of the process and a type cannot
be unregistered, while the OBS script (and this package) may be reloaded many times. So
the ctypes callbacks live in a holder module kept in sys.modules under a fixed key; they
are thin trampolines that hand every call to whatever delegate the current script load
installed (or do nothing when none is installed, e.g. between unload and load).

The holder deliberately holds only plain data and closures made once: code that may change
between reloads stays in the delegate.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
import threading
import types
from collections.abc import Callable
from typing import Any, Protocol

from . import libobs as L

SOURCE_ID = "guestrec_webrtc_guest"
DISPLAY_NAME = "WebRTC Guest"
HOLDER_KEY = "_guestrec_obs_source_type"
OUTPUT_FLAGS = L.OBS_SOURCE_ASYNC_VIDEO | L.OBS_SOURCE_AUDIO | L.OBS_SOURCE_DO_NOT_DUPLICATE


class SourceDelegate(Protocol):
    """What the current script load does for sources of our type (all on OBS's threads)."""

    def source_created(self, source: int, settings: int) -> None: ...

    def source_destroyed(self, source: int) -> None: ...

    def get_defaults(self, settings: int) -> None: ...

    def get_properties(self, source: int) -> int: ...

    def update(self, source: int, settings: int) -> None: ...

    def button_clicked(self, source: int, prop_name: str) -> bool: ...

    def hotkey_pressed(self, source: int, action: str, pressed: bool) -> None: ...


def _report(where: str) -> None:
    # A Python exception must never cross into libobs; print so it lands in the OBS log.
    import traceback

    print(f"[guestrec] error in {where}:\n{traceback.format_exc()}", file=sys.stderr)


def _guarded(where: str, call: Callable[[], Any], default: Any = None) -> Any:
    """The result of a delegate's call made from a libobs callback, or `default` if it raised."""
    try:
        return call()
    except Exception:  # noqa: BLE001 - reported in the OBS log instead of crossing into libobs
        _report(where)
        return default


def _build_holder(lib: L.LibObs) -> types.ModuleType:
    holder = types.ModuleType(HOLDER_KEY, "Process-lifetime state of the WebRTC Guest source type")
    holder.registered = False
    holder.delegate = None  # SourceDelegate | None
    holder.instances = {}  # data id -> obs_source_t* (borrowed: OBS owns the source)
    holder.tasks = {}  # task id -> callable, for obs_queue_task
    holder.lock = threading.Lock()
    holder.counter = itertools.count(1)
    holder.name_buffer = ctypes.create_string_buffer(DISPLAY_NAME.encode())
    holder.id_buffer = ctypes.create_string_buffer(SOURCE_ID.encode())

    def source_of(data: int | None) -> int:
        return holder.instances.get(data or 0, 0)

    holder.source_of = source_of
    _add_lifecycle_callbacks(holder, lib.obs)
    _add_dialog_callbacks(holder, lib.obs)
    _add_hotkey_support(holder)
    return holder


def _add_lifecycle_callbacks(holder: types.ModuleType, obs: Any) -> None:
    """Trampolines for a source's life (name, create, destroy, defaults) and queued tasks."""

    def get_name(_type_data):
        return ctypes.addressof(holder.name_buffer)

    def create(settings, source):
        data = next(holder.counter)
        holder.instances[data] = source
        delegate = holder.delegate
        if delegate is not None:
            _guarded("create", lambda: delegate.source_created(source, settings))
        return data

    def destroy(data):
        source = holder.instances.pop(data or 0, 0)
        delegate = holder.delegate
        if delegate is not None and source:
            _guarded("destroy", lambda: delegate.source_destroyed(source))

    def get_defaults(settings):
        obs.obs_data_set_default_bool(settings, b"record", False)
        delegate = holder.delegate
        if delegate is not None:
            _guarded("get_defaults", lambda: delegate.get_defaults(settings))

    def run_task(param):
        fn = holder.tasks.pop(param or 0, None)
        if fn is not None:
            _guarded("queued task", fn)

    holder.cb_get_name = L.GET_NAME_FN(get_name)
    holder.cb_create = L.CREATE_FN(create)
    holder.cb_destroy = L.DESTROY_FN(destroy)
    holder.cb_get_defaults = L.GET_DEFAULTS_FN(get_defaults)
    holder.cb_task = L.TASK_FN(run_task)


def _add_dialog_callbacks(holder: types.ModuleType, obs: Any) -> None:
    """Trampolines for a source's properties dialog: its controls, changes and buttons."""

    def get_properties(data):
        delegate = holder.delegate
        source = holder.source_of(data)
        if delegate is not None and source:
            props = _guarded("get_properties", lambda: delegate.get_properties(source))
            if props:
                return props
        props = obs.obs_properties_create()
        obs.obs_properties_add_text(
            props, b"status", b"The Guest Recorder script is not loaded.", L.OBS_TEXT_INFO)
        return props

    def update(data, settings):
        delegate = holder.delegate
        source = holder.source_of(data)
        if delegate is not None and source:
            _guarded("update", lambda: delegate.update(source, settings))

    def clicked(_props, prop, data):
        delegate = holder.delegate
        source = holder.source_of(data)
        if delegate is None or not source:
            return False
        return bool(_guarded(
            "button", lambda: delegate.button_clicked(source, L.cstr(obs.obs_property_name(prop))), False))

    holder.cb_get_properties = L.GET_PROPERTIES_FN(get_properties)
    holder.cb_update = L.UPDATE_FN(update)
    holder.cb_clicked = L.BUTTON_FN(clicked)


def _add_hotkey_support(holder: types.ModuleType) -> None:
    """The per-source hotkeys' state and trampoline (also added to a holder an older
    version of this package made earlier in the process)."""
    if hasattr(holder, "cb_hotkey"):
        return
    holder.hotkeys = {}  # data id -> the source's hotkey ids (registered once per source)
    holder.hotkey_actions = {}  # hotkey id -> action

    def hotkey(data, hotkey_id, _hotkey, pressed):
        delegate = holder.delegate
        source = holder.source_of(data)
        action = holder.hotkey_actions.get(hotkey_id)
        if delegate is None or not source or action is None:
            return
        _guarded("hotkey", lambda: delegate.hotkey_pressed(source, action, bool(pressed)))

    holder.cb_hotkey = L.HOTKEY_FN(hotkey)


def holder() -> types.ModuleType:
    """The process-wide holder; made (not registered) on first use."""
    existing = sys.modules.get(HOLDER_KEY)
    if existing is not None:
        return existing
    made = _build_holder(L.api())
    sys.modules[HOLDER_KEY] = made
    return made


def ensure_registered() -> types.ModuleType:
    """Register the source type with libobs unless this process already did."""
    h = holder()
    with h.lock:
        if h.registered:
            return h
        info = L.SourceInfoHead()  # zeroed
        # libobs keeps this pointer as the unversioned id: point it at our own buffer.
        info.id = ctypes.cast(h.id_buffer, ctypes.c_char_p)
        info.type = L.OBS_SOURCE_TYPE_INPUT
        info.output_flags = OUTPUT_FLAGS
        info.get_name = h.cb_get_name
        info.create = h.cb_create
        info.destroy = h.cb_destroy
        info.get_defaults = h.cb_get_defaults
        info.get_properties = h.cb_get_properties
        info.update = h.cb_update
        # libobs copies the struct; the id string and the callbacks must live on.
        L.api().obs.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
        h.info = info
        if not L.api().obs.obs_source_get_display_name(SOURCE_ID.encode()):
            raise RuntimeError("libobs refused the source type (see the lines above in the log)")
        h.registered = True
        return h


def register_hotkeys(specs: tuple[tuple[str, str, str], ...]) -> int:
    """Give every source of our type that has none yet its hotkeys, (name, description,
    action) each; returns how many sources got them.

    Registered once per source for the life of the source, never on script unload: libobs
    saves a source's key bindings from its registered hotkeys, so unregistering them
    would drop the user's bindings at the next save. Presses between unload and load go
    to no delegate and do nothing; libobs frees the hotkeys with the source."""
    h = holder()
    _add_hotkey_support(h)
    obs = L.api().obs
    made = 0
    with h.lock:
        for gone in set(h.hotkeys) - set(h.instances):
            for hotkey_id in h.hotkeys.pop(gone):
                h.hotkey_actions.pop(hotkey_id, None)
        for data, source in list(h.instances.items()):
            if data in h.hotkeys:
                continue
            ids = []
            for name, description, action in specs:
                hotkey_id = obs.obs_hotkey_register_source(
                    source, name.encode(), description.encode(), h.cb_hotkey, data)
                if hotkey_id != L.OBS_INVALID_HOTKEY_ID:  # e.g. a private source
                    h.hotkey_actions[hotkey_id] = action
                    ids.append(hotkey_id)
            h.hotkeys[data] = ids
            made += 1
    return made


def set_delegate(delegate: SourceDelegate | None) -> None:
    holder().delegate = delegate


def get_delegate() -> Any:
    existing = sys.modules.get(HOLDER_KEY)
    return None if existing is None else existing.delegate


def queue_ui_task(fn: Callable[[], None], wait: bool = False) -> None:
    """Run fn on OBS's UI thread (obs_queue_task(OBS_TASK_UI))."""
    h = holder()
    task_id = next(h.counter)
    h.tasks[task_id] = fn
    L.api().obs.obs_queue_task(L.OBS_TASK_UI, h.cb_task, task_id, wait)


def drop_pending_tasks() -> None:
    """Forget queued tasks of this load (they become no-ops when OBS runs them)."""
    existing = sys.modules.get(HOLDER_KEY)
    if existing is not None:
        existing.tasks.clear()
