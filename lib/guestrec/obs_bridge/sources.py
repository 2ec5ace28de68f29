"""One OBS source per guest, and the GuestSink that feeds it.

Threads: sinks run on the engine's loop thread and only call the two libobs output
functions (they copy the data and are safe from any thread). Finding, creating and
releasing sources, and scene changes, happen on OBS's UI thread through obs_queue_task.
A source's strong reference is held by its entry and guarded by the entry's lock, so a
frame is never pushed into a source that is being released.
"""

from __future__ import annotations

import ctypes
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import av

from . import libobs as L
from . import registry
from .frames import AudioConverter, to_i420
from .guest_hotkeys import GUEST_HOTKEYS, run_guest_hotkey
from .guest_properties import ControlFn, GuestProperties
from .layout import SceneLayout
from .status import HandoverStats

LogFn = Callable[[str, str], None]
StatusFn = Callable[[str], "Mapping[str, Any] | None"]
SetRecordingFn = Callable[[str, bool], None]


@dataclass
class _Entry:
    guest: str
    source_name: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    ptr: int = 0  # our strong reference to the obs_source_t, 0 when none
    active_sinks: int = 0
    stats: HandoverStats = field(default_factory=HandoverStats)
    release_queued: bool = False


class ObsGuestSink:
    """interfaces.GuestSink for one guest connection: frames go into the guest's source."""

    def __init__(self, manager: GuestSourceManager, entry: _Entry) -> None:
        self._manager = manager
        self._entry = entry
        self._lib = manager.lib
        self._audio = AudioConverter()
        self._frame = L.SourceFrame2()
        self._audio_struct = L.SourceAudio()
        self._colour_key: tuple[int, int] | None = None

    def on_connected(self) -> None:
        with self._entry.lock:
            self._entry.active_sinks += 1

    def on_disconnected(self) -> None:
        entry = self._entry
        with entry.lock:
            entry.active_sinks = max(0, entry.active_sinks - 1)
            left = entry.active_sinks == 0
            if left and entry.ptr:
                # NULL clears the picture: the source stays and shows nothing.
                self._lib.obs.obs_source_output_video2(entry.ptr, None)
        if left:
            self._manager.guest_left(entry)
        summary = entry.stats.summary()
        if summary["frames"]:
            self._manager.log("info", f"hand-over stats {json.dumps(entry.guest)} {json.dumps(summary)}")

    def _live_source(self) -> int:
        """The source pointer if frames can go in (call with the entry lock held)."""
        ptr = self._entry.ptr
        if ptr and self._lib.obs.obs_source_removed(ptr):
            # The user deleted the source: stop feeding it and let it go.
            self._manager.forget_source(self._entry)
            return 0
        return ptr

    def on_video(self, frame: av.VideoFrame, timestamp_ns: int) -> None:
        start = time.perf_counter_ns()
        entry = self._entry
        if not entry.ptr:
            return  # the source is not there yet (or any more)
        image = to_i420(frame)
        f = self._frame
        key = (image.colorspace, image.range)
        if key != self._colour_key:
            matrix, rmin, rmax = self._manager.colour_parameters(*key)
            f.color_matrix[:] = matrix
            f.color_range_min[:] = rmin
            f.color_range_max[:] = rmax
            f.range = image.range
            self._colour_key = key
        f.format = L.VIDEO_FORMAT_I420
        f.width, f.height = image.width, image.height
        f.timestamp = max(0, int(timestamp_ns))
        for i in range(3):
            f.data[i] = image.pointers[i]
            f.linesize[i] = image.linesizes[i]
        with entry.lock:
            ptr = self._live_source()
            if not ptr:
                return
            self._lib.obs.obs_source_output_video2(ptr, ctypes.byref(f))
        entry.stats.record(time.perf_counter_ns() - start)

    def on_audio(self, frame: av.AudioFrame, timestamp_ns: int) -> None:
        entry = self._entry
        if not entry.ptr:
            return
        a = self._audio_struct
        a.speakers = L.SPEAKERS_STEREO
        a.format = L.AUDIO_FORMAT_FLOAT_PLANAR
        a.samples_per_sec = 48000
        for chunk in self._audio.convert(frame, max(0, int(timestamp_ns))):
            a.data[0], a.data[1] = chunk.pointers[0], chunk.pointers[1]
            a.frames = chunk.samples
            a.timestamp = chunk.timestamp_ns
            with entry.lock:
                ptr = self._live_source()
                if not ptr:
                    return
                self._lib.obs.obs_source_output_audio(ptr, ctypes.byref(a))


class GuestSourceManager:
    """Owns the guest sources of one script load and is the source type's delegate."""

    def __init__(
        self,
        *,
        add_to_scene: Callable[[], bool],
        guest_status: StatusFn,
        set_recording: SetRecordingFn,
        log: LogFn,
        control: ControlFn = lambda guest, action, value: None,
        notice: Callable[[str], str] = lambda guest: "",
        guest_link: Callable[[str], str] = lambda guest: "",
        lib: L.LibObs | None = None,
    ) -> None:
        self.lib = lib or L.api()
        self._add_to_scene = add_to_scene
        self._guest_status = guest_status
        self._set_recording = set_recording
        self._log = log
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._colours: dict[tuple[int, int], tuple[list[float], list[float], list[float]]] = {}
        self._closed = False
        self._control, self._notice, self._guest_link = control, notice, guest_link
        self.panel: GuestProperties | None = None
        self.layout = SceneLayout(self.lib, self._is_ours)
        self.studio_track = 0  # the OBS audio track guests hear (1..6); guest sources stay out of it

    # ----- set-up -------------------------------------------------------------------

    def install(self) -> None:
        """Register the source type (once per process) and take over its callbacks."""
        holder = registry.ensure_registered()
        self.panel = GuestProperties(
            self.lib, guest_status=self._guest_status, set_recording=self._set_recording,
            control=self._control, notice=self._notice, guest_link=self._guest_link,
            button_callback=holder.cb_clicked)
        registry.set_delegate(self)
        registry.register_hotkeys(GUEST_HOTKEYS)  # sources that exist already (e.g. a reload)

    def _is_ours(self, source: int) -> bool:
        return L.cstr(self.lib.obs.obs_source_get_unversioned_id(source)) == registry.SOURCE_ID

    def log(self, level: str, message: str) -> None:
        try:
            self._log(level, message)
        except Exception:  # noqa: BLE001 - logging must never raise into OBS
            pass

    def colour_parameters(self, colorspace: int, vrange: int):
        key = (colorspace, vrange)
        if key not in self._colours:
            self._colours[key] = self.lib.colour_parameters(colorspace, vrange)
        return self._colours[key]

    # ----- engine side (loop thread) ------------------------------------------------

    def sink_factory(self, guest: str) -> ObsGuestSink | None:
        """Engine.sink_factory: a sink for a guest who just joined."""
        if self._closed:
            return None
        with self._lock:
            entry = self._entries.get(guest)
            if entry is None:
                entry = self._entries[guest] = _Entry(guest=guest, source_name=guest)
        registry.queue_ui_task(lambda: self._ensure_source(entry))
        return ObsGuestSink(self, entry)

    def forget_source(self, entry: _Entry) -> None:
        """Drop our reference to a source the user removed (entry lock held by caller)."""
        if entry.release_queued:
            return
        entry.release_queued = True

        def release() -> None:
            with entry.lock:
                ptr, entry.ptr = entry.ptr, 0
                entry.release_queued = False
            if ptr:
                self.lib.obs.obs_source_release(ptr)

        registry.queue_ui_task(release)

    # ----- UI thread ----------------------------------------------------------------

    def _ensure_source(self, entry: _Entry) -> None:
        if self._closed:
            return
        obs = self.lib.obs
        src, name = self._find_ours(entry.guest)
        created = False
        if not src:
            src = obs.obs_source_create(registry.SOURCE_ID.encode(), name.encode(), None, None)
            created = True
            if not src:
                self.log("error", f"could not create the OBS source for guest {entry.guest!r}")
                return
            self.log("info", f"created source {name!r} for guest {entry.guest!r}")
        with entry.lock:
            old, entry.ptr = entry.ptr, src
            entry.source_name = name
        if old:
            obs.obs_source_release(old)  # we keep exactly one reference: the new one
        self._keep_out_of_track(src, 0, self.studio_track)
        if created and self._add_to_scene():
            self._in_current_scene(lambda scene: self.layout.add_to_grid(scene, src))
        elif not created:
            self._in_current_scene(lambda scene: self.layout.set_shown(scene, name, True))

    def set_studio_track(self, track: int) -> None:
        """Guests hear OBS's track `track` now (0: none): every guest source leaves it, and
        goes back into the track it was kept out of before (any thread)."""
        def move() -> None:
            old, self.studio_track = self.studio_track, track
            if old == track or self._closed:
                return
            with self._lock:
                entries = list(self._entries.values())
            for entry in entries:
                with entry.lock:
                    if entry.ptr:
                        self._keep_out_of_track(entry.ptr, old, track)

        registry.queue_ui_task(move)

    def _keep_out_of_track(self, source: int, old: int, new: int) -> None:
        """A guest must not hear itself through OBS: its source is left out of the track
        guests hear; the other tracks stay as OBS set them."""
        obs = self.lib.obs
        mixers = before = obs.obs_source_get_audio_mixers(source)
        if old:
            mixers |= 1 << (old - 1)
        if new:
            mixers &= ~(1 << (new - 1))
        if mixers != before:
            obs.obs_source_set_audio_mixers(source, mixers)

    def guest_left(self, entry: _Entry) -> None:
        """Hide a departed guest's picture in the scene; it comes back with the guest."""
        def hide() -> None:
            with entry.lock:
                still_gone = entry.active_sinks == 0
            if still_gone and not self._closed:
                self._in_current_scene(lambda scene: self.layout.set_shown(scene, entry.source_name, False))

        registry.queue_ui_task(hide)

    def _find_ours(self, guest: str) -> tuple[int, str]:
        """An existing source of our type for the guest, else (0, a free name to use)."""
        obs = self.lib.obs
        candidates = [guest] + [f"{guest} (WebRTC{'' if n == 1 else f' {n}'})" for n in range(1, 10)]
        for name in candidates:
            src = obs.obs_get_source_by_name(name.encode())
            if not src:
                return 0, name
            if L.cstr(obs.obs_source_get_unversioned_id(src)) == registry.SOURCE_ID:
                return src, name
            obs.obs_source_release(src)  # another kind of source owns this name
        return 0, f"{guest} (WebRTC {time.time_ns() % 100000})"

    def _in_current_scene(self, action: Callable[[int], None]) -> None:
        fe = self.lib.frontend
        if fe is None:
            return
        scene_source = fe.obs_frontend_get_current_scene()
        if not scene_source:
            return
        try:
            action(scene_source)
        finally:
            self.lib.obs.obs_source_release(scene_source)

    def close(self) -> None:
        """Let go of every source (UI thread, at script unload). Idempotent."""
        self._closed = True
        if registry.get_delegate() is self:
            registry.set_delegate(None)
        registry.drop_pending_tasks()
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        obs = self.lib.obs
        for entry in entries:
            with entry.lock:
                ptr, entry.ptr = entry.ptr, 0
                if ptr:
                    obs.obs_source_output_video2(ptr, None)
            if ptr:
                obs.obs_source_release(ptr)

    # ----- status -------------------------------------------------------------------

    def guest_for_source(self, source: int) -> str:
        with self._lock:
            for entry in self._entries.values():
                if entry.ptr == source:
                    return entry.guest
        return L.cstr(self.lib.obs.obs_source_get_name(source))

    def refresh_properties(self, guests: list[str]) -> None:
        """Bring these guests' settings up to their real state and rebuild their open
        property dialogs (any thread; the work happens on the UI thread)."""
        with self._lock:
            entries = [self._entries[g] for g in guests if g in self._entries]

        def refresh() -> None:
            for entry in entries:
                with entry.lock:
                    ptr = entry.ptr
                if ptr and self.panel is not None and not self._closed:
                    self.panel.mirror(ptr, entry.guest)
                    self.lib.obs.obs_source_update_properties(ptr)

        if entries and not self._closed:
            registry.queue_ui_task(refresh)

    def handover_stats(self) -> dict[str, dict[str, float | int]]:
        with self._lock:
            return {name: e.stats.summary() for name, e in self._entries.items()}

    # ----- SourceDelegate (OBS's threads) ---------------------------------------------

    def source_created(self, source: int, settings: int) -> None:
        registry.register_hotkeys(GUEST_HOTKEYS)

    def source_destroyed(self, source: int) -> None:
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            with entry.lock:
                if entry.ptr == source:  # cannot happen while we hold a reference
                    entry.ptr = 0

    def get_defaults(self, settings: int) -> None:
        pass

    def get_properties(self, source: int) -> int:
        assert self.panel is not None
        return self.panel.build(source, self.guest_for_source(source))

    def update(self, source: int, settings: int) -> None:
        if self.panel is not None:
            self.panel.update(source, settings, self.guest_for_source(source))

    def button_clicked(self, source: int, prop_name: str) -> bool:
        if self.panel is None:
            return False
        return self.panel.clicked(source, prop_name, self.guest_for_source(source))

    def hotkey_pressed(self, source: int, action: str, pressed: bool) -> None:
        if not pressed or self._closed:
            return
        guest = self.guest_for_source(source)
        run_guest_hotkey(action, guest, guest_status=self._guest_status,
                         set_recording=self._set_recording, control=self._control, log=self.log)
        self.refresh_properties([guest])
