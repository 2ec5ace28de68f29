"""ctypes bindings for the few libobs calls the bridge needs (checked against OBS 29 headers).

Loaded lazily: importing this module never touches libobs, so tests without OBS can
import the bridge. `api()` opens the library on first use; inside OBS that is the copy
already loaded into the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_float,
    c_int,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from functools import lru_cache

MAX_AV_PLANES = 8

# enum obs_source_type / output flags (obs-source.h)
OBS_SOURCE_TYPE_INPUT = 0
OBS_SOURCE_VIDEO = 1 << 0
OBS_SOURCE_AUDIO = 1 << 1
OBS_SOURCE_ASYNC = 1 << 2
OBS_SOURCE_ASYNC_VIDEO = OBS_SOURCE_ASYNC | OBS_SOURCE_VIDEO
OBS_SOURCE_DO_NOT_DUPLICATE = 1 << 7

# enum video_format / video_colorspace / video_range_type (media-io/video-io.h)
VIDEO_FORMAT_I420 = 1
VIDEO_CS_601 = 1
VIDEO_CS_709 = 2
VIDEO_RANGE_PARTIAL = 1
VIDEO_RANGE_FULL = 2

# enum audio_format / speaker_layout (media-io/audio-io.h)
AUDIO_FORMAT_16BIT = 2
AUDIO_FORMAT_FLOAT_PLANAR = 8
MAX_AUDIO_MIXES = 6
SPEAKERS_STEREO = 2

# enum obs_task_type
OBS_TASK_UI = 0

# enum obs_text_type, enum obs_bounds_type
OBS_TEXT_DEFAULT = 0
OBS_TEXT_INFO = 3
OBS_BOUNDS_SCALE_INNER = 2
OBS_ALIGN_CENTER = 0
OBS_ALIGN_LEFT = 1 << 0
OBS_ALIGN_TOP = 1 << 2
OBS_TEXT_INFO_NORMAL = 0

# Callback signatures used in struct obs_source_info and elsewhere.
GET_NAME_FN = CFUNCTYPE(c_void_p, c_void_p)  # returns const char*; we hand out our own buffer
CREATE_FN = CFUNCTYPE(c_void_p, c_void_p, c_void_p)
DESTROY_FN = CFUNCTYPE(None, c_void_p)
GET_DEFAULTS_FN = CFUNCTYPE(None, c_void_p)
GET_PROPERTIES_FN = CFUNCTYPE(c_void_p, c_void_p)
UPDATE_FN = CFUNCTYPE(None, c_void_p, c_void_p)
TASK_FN = CFUNCTYPE(None, c_void_p)
BUTTON_FN = CFUNCTYPE(c_bool, c_void_p, c_void_p, c_void_p)
SCENE_ENUM_FN = CFUNCTYPE(c_bool, c_void_p, c_void_p, c_void_p)
# obs_hotkey_func(void *data, obs_hotkey_id id, obs_hotkey_t *hotkey, bool pressed)
HOTKEY_FN = CFUNCTYPE(None, c_void_p, c_size_t, c_void_p, c_bool)
OBS_INVALID_HOTKEY_ID = ctypes.c_size_t(-1).value


class SourceInfoHead(Structure):
    """The leading fields of struct obs_source_info, in header order (OBS 27..31)."""

    _fields_ = [
        ("id", c_char_p),
        ("type", c_int),
        ("output_flags", c_uint32),
        ("get_name", GET_NAME_FN),
        ("create", CREATE_FN),
        ("destroy", DESTROY_FN),
        ("get_width", c_void_p),
        ("get_height", c_void_p),
        ("get_defaults", GET_DEFAULTS_FN),
        ("get_properties", GET_PROPERTIES_FN),
        ("update", UPDATE_FN),
    ]


# obs_register_source_s copies `size` bytes into a zeroed struct and refuses a size above
# its own sizeof (400 bytes in OBS 29): passing just the head leaves every later optional
# callback NULL and works with any libobs whose struct starts like this one.


class SourceFrame2(Structure):
    """struct obs_source_frame2 (obs.h, OBS 28+: flags and trc follow flip)."""

    _fields_ = [
        ("data", c_void_p * MAX_AV_PLANES),
        ("linesize", c_uint32 * MAX_AV_PLANES),
        ("width", c_uint32),
        ("height", c_uint32),
        ("timestamp", c_uint64),
        ("format", c_int),
        ("range", c_int),
        ("color_matrix", c_float * 16),
        ("color_range_min", c_float * 3),
        ("color_range_max", c_float * 3),
        ("flip", c_bool),
        ("flags", c_uint8),
        ("trc", c_uint8),
    ]


class SourceAudio(Structure):
    """struct obs_source_audio (obs.h)."""

    _fields_ = [
        ("data", c_void_p * MAX_AV_PLANES),
        ("frames", c_uint32),
        ("speakers", c_int),
        ("format", c_int),
        ("samples_per_sec", c_uint32),
        ("timestamp", c_uint64),
    ]


class AudioData(Structure):
    """struct audio_data (media-io/audio-io.h): what a raw audio callback gets."""

    _fields_ = [("data", c_void_p * MAX_AV_PLANES), ("frames", c_uint32), ("timestamp", c_uint64)]


class AudioConvertInfo(Structure):
    """struct audio_convert_info (media-io/audio-io.h, OBS 27..29); the trailing padding
    stays zero, as later versions' added flag (allow_clipping) wants by default."""

    _fields_ = [("samples_per_sec", c_uint32), ("format", c_int), ("speakers", c_int),
                ("padding", c_uint32)]


class VideoData(Structure):
    """struct video_data (media-io/video-io.h): what a raw video callback gets."""

    _fields_ = [("data", c_void_p * MAX_AV_PLANES), ("linesize", c_uint32 * MAX_AV_PLANES),
                ("timestamp", c_uint64)]


class VideoScaleInfo(Structure):
    """struct video_scale_info (media-io/video-io.h)."""

    _fields_ = [("format", c_int), ("width", c_uint32), ("height", c_uint32), ("range", c_int),
                ("colorspace", c_int)]


# void (*)(void *param, size_t mix_idx, struct audio_data *data)
RAW_AUDIO_FN = CFUNCTYPE(None, c_void_p, c_size_t, POINTER(AudioData))
# void (*)(void *param, struct video_data *frame)
RAW_VIDEO_FN = CFUNCTYPE(None, c_void_p, POINTER(VideoData))


class Vec2(Structure):
    _fields_ = [("x", c_float), ("y", c_float)]


class LibObsMissing(RuntimeError):
    """libobs could not be opened: the code runs outside OBS."""


def _loaded_in_process(symbol: str, module_names: tuple[str, ...]) -> ctypes.CDLL | None:
    """The library the running process already holds that exports `symbol`, if any.

    Inside OBS libobs is loaded before any script: OBS.app keeps it in its own
    Frameworks folder and Windows' obs.dll sits beside obs64.exe, where a plain name
    lookup by dlopen/LoadLibrary does not search. Asking the process finds it anywhere.
    """
    if sys.platform == "win32":
        kernel32 = ctypes.WinDLL("kernel32")  # our own instance: argtypes stay ours
        get_module = kernel32.GetModuleHandleW
        get_module.restype, get_module.argtypes = c_void_p, [ctypes.c_wchar_p]
        for name in module_names:
            handle = get_module(name)
            if handle:
                return ctypes.CDLL(name, handle=handle)
        return None
    try:
        process = ctypes.CDLL(None)  # dlopen(NULL): the program and what it loaded
    except OSError:
        return None
    if hasattr(process, symbol):
        return process
    if sys.platform == "darwin":
        return _from_dyld_images(process, module_names)
    return None


def _from_dyld_images(process: ctypes.CDLL, module_names: tuple[str, ...]) -> ctypes.CDLL | None:
    """macOS: open by full path the loaded image whose path ends like one of the names."""
    try:
        count, name_of = process._dyld_image_count, process._dyld_get_image_name
    except AttributeError:
        return None
    count.restype, count.argtypes = c_uint32, []
    name_of.restype, name_of.argtypes = c_char_p, [c_uint32]
    for index in range(count()):
        path = cstr(name_of(index))
        if any(path.endswith("/" + name) for name in module_names):
            return ctypes.CDLL(path)
    return None


def _open(symbol: str, names: tuple[str, ...], short: str) -> tuple[ctypes.CDLL, str]:
    """The library and how it was found: in the running process first, then by name."""
    loaded = _loaded_in_process(symbol, names)
    if loaded is not None:
        return loaded, "the running process"
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            errors.append(str(exc))
    found = ctypes.util.find_library(short)
    if found:
        return ctypes.CDLL(found), found
    raise LibObsMissing(f"cannot open {short}: {'; '.join(errors)}")


def _libobs_names() -> tuple[str, ...]:
    if sys.platform == "darwin":
        return ("libobs.framework/Versions/A/libobs", "libobs.framework/libobs", "libobs.0.dylib",
                "libobs.dylib")
    if sys.platform == "win32":
        return ("obs.dll",)
    return ("libobs.so.0", "libobs.so")


def _frontend_names() -> tuple[str, ...]:
    if sys.platform == "darwin":
        return ("obs-frontend-api.dylib", "libobs-frontend-api.1.dylib", "libobs-frontend-api.dylib")
    if sys.platform == "win32":
        return ("obs-frontend-api.dll",)
    return ("libobs-frontend-api.so.0", "libobs-frontend-api.so")


def _bind(lib: ctypes.CDLL, name: str, restype, *argtypes) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


def _bind_variadic(lib: ctypes.CDLL, name: str, restype, *fixed) -> None:
    """Bind a C function declared `(fixed..., ...)`. ctypes makes a variadic call (the
    convention Apple silicon needs: variadic arguments go on the stack) when a call passes
    more arguments than argtypes lists; so argtypes holds the fixed part only, and every
    extra argument must be passed as a ctypes instance (c_int, c_char_p ...)."""
    _bind(lib, name, restype, *fixed)


class LibObs:
    """Typed handles to libobs and the frontend API."""

    def __init__(self) -> None:
        obs, self.found_by = _open("obs_get_version", _libobs_names(), "obs")
        self.obs = obs
        b = _bind
        b(obs, "obs_get_version", c_uint32)
        b(obs, "obs_register_source_s", None, c_void_p, c_size_t)
        b(obs, "obs_source_output_video2", None, c_void_p, POINTER(SourceFrame2))
        b(obs, "obs_source_output_audio", None, c_void_p, POINTER(SourceAudio))
        b(obs, "obs_queue_task", None, c_int, TASK_FN, c_void_p, c_bool)
        b(obs, "obs_get_source_by_name", c_void_p, c_char_p)
        b(obs, "obs_source_get_display_name", c_char_p, c_char_p)
        b(obs, "obs_source_create", c_void_p, c_char_p, c_char_p, c_void_p, c_void_p)
        b(obs, "obs_source_release", None, c_void_p)
        b(obs, "obs_source_removed", c_bool, c_void_p)
        b(obs, "obs_source_get_name", c_char_p, c_void_p)
        b(obs, "obs_source_get_unversioned_id", c_char_p, c_void_p)
        b(obs, "obs_source_get_width", c_uint32, c_void_p)
        b(obs, "obs_source_get_height", c_uint32, c_void_p)
        b(obs, "obs_source_get_settings", c_void_p, c_void_p)
        b(obs, "obs_source_update_properties", None, c_void_p)
        b(obs, "obs_scene_from_source", c_void_p, c_void_p)
        b(obs, "obs_scene_add", c_void_p, c_void_p, c_void_p)
        b(obs, "obs_sceneitem_set_bounds_type", None, c_void_p, c_int)
        b(obs, "obs_sceneitem_set_bounds_alignment", None, c_void_p, c_uint32)
        b(obs, "obs_sceneitem_set_bounds", None, c_void_p, POINTER(Vec2))
        b(obs, "obs_sceneitem_set_pos", None, c_void_p, POINTER(Vec2))
        b(obs, "obs_sceneitem_set_alignment", None, c_void_p, c_uint32)
        b(obs, "obs_sceneitem_set_visible", c_bool, c_void_p, c_bool)
        b(obs, "obs_sceneitem_get_source", c_void_p, c_void_p)
        b(obs, "obs_sceneitem_get_id", ctypes.c_int64, c_void_p)
        b(obs, "obs_scene_find_source", c_void_p, c_void_p, c_char_p)
        b(obs, "obs_scene_enum_items", None, c_void_p, SCENE_ENUM_FN, c_void_p)
        b(obs, "obs_data_get_int", ctypes.c_longlong, c_void_p, c_char_p)
        b(obs, "obs_data_set_int", None, c_void_p, c_char_p, ctypes.c_longlong)
        b(obs, "obs_data_get_string", c_char_p, c_void_p, c_char_p)
        b(obs, "obs_data_set_string", None, c_void_p, c_char_p, c_char_p)
        b(obs, "obs_properties_add_int", c_void_p, c_void_p, c_char_p, c_char_p, c_int, c_int, c_int)
        b(obs, "obs_property_int_set_suffix", None, c_void_p, c_char_p)
        b(obs, "obs_property_set_visible", None, c_void_p, c_bool)
        b(obs, "obs_data_get_bool", c_bool, c_void_p, c_char_p)
        b(obs, "obs_data_set_bool", None, c_void_p, c_char_p, c_bool)
        b(obs, "obs_data_set_default_bool", None, c_void_p, c_char_p, c_bool)
        b(obs, "obs_data_release", None, c_void_p)
        b(obs, "obs_properties_create", c_void_p)
        b(obs, "obs_properties_add_text", c_void_p, c_void_p, c_char_p, c_char_p, c_int)
        b(obs, "obs_properties_add_bool", c_void_p, c_void_p, c_char_p, c_char_p)
        b(obs, "obs_properties_add_button", c_void_p, c_void_p, c_char_p, c_char_p, BUTTON_FN)
        b(obs, "obs_property_set_long_description", None, c_void_p, c_char_p)
        b(obs, "obs_property_set_enabled", None, c_void_p, c_bool)
        b(obs, "obs_property_name", c_char_p, c_void_p)
        b(obs, "obs_hotkey_register_source", c_size_t, c_void_p, c_char_p, c_char_p, HOTKEY_FN, c_void_p)
        b(obs, "obs_source_get_audio_mixers", c_uint32, c_void_p)
        b(obs, "obs_source_set_audio_mixers", None, c_void_p, c_uint32)
        b(obs, "obs_add_raw_audio_callback", None,
          c_size_t, POINTER(AudioConvertInfo), RAW_AUDIO_FN, c_void_p)
        b(obs, "obs_remove_raw_audio_callback", None, c_size_t, RAW_AUDIO_FN, c_void_p)
        b(obs, "obs_add_raw_video_callback", None, POINTER(VideoScaleInfo), RAW_VIDEO_FN, c_void_p)
        b(obs, "obs_remove_raw_video_callback", None, RAW_VIDEO_FN, c_void_p)
        _bind_variadic(obs, "blog", None, c_int, c_char_p)  # void blog(int, const char *, ...)
        self.has_params_for_format = hasattr(obs, "video_format_get_parameters_for_format")
        if self.has_params_for_format:
            b(obs, "video_format_get_parameters_for_format", c_bool, c_int, c_int, c_int,
              POINTER(c_float), POINTER(c_float), POINTER(c_float))
        b(obs, "video_format_get_parameters", c_bool, c_int, c_int,
          POINTER(c_float), POINTER(c_float), POINTER(c_float))
        self.frontend: ctypes.CDLL | None
        try:
            fe, _ = _open("obs_frontend_get_current_scene", _frontend_names(), "obs-frontend-api")
            b(fe, "obs_frontend_get_current_scene", c_void_p)
            self.frontend = fe
        except (LibObsMissing, AttributeError):
            self.frontend = None

    def version(self) -> tuple[int, int, int]:
        v = int(self.obs.obs_get_version())
        return (v >> 24) & 0xFF, (v >> 16) & 0xFF, v & 0xFFFF

    def colour_parameters(self, colorspace: int, vrange: int) -> tuple[list[float], list[float], list[float]]:
        """Matrix and range for I420 in the given colour space and range."""
        matrix = (c_float * 16)()
        rmin = (c_float * 3)()
        rmax = (c_float * 3)()
        full = vrange == VIDEO_RANGE_FULL
        if self.has_params_for_format:
            ok = self.obs.video_format_get_parameters_for_format(
                colorspace, vrange, VIDEO_FORMAT_I420, matrix, rmin, rmax)
        else:
            ok = self.obs.video_format_get_parameters(colorspace, vrange, matrix, rmin, rmax)
        if not ok:
            raise ValueError(f"no colour parameters for colour space {colorspace}, full={full}")
        return list(matrix), list(rmin), list(rmax)


@lru_cache(maxsize=1)
def api() -> LibObs:
    """The process-wide bindings (raises LibObsMissing outside OBS)."""
    return LibObs()


def cstr(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""



# blog() levels (util/base.h)
LOG_ERROR = 100
LOG_WARNING = 200
LOG_INFO = 300

_LEVELS = {"error": LOG_ERROR, "warning": LOG_WARNING, "info": LOG_INFO, "debug": LOG_INFO}


def obs_log(level: str, message: str) -> None:
    """Write one line to the OBS log from any thread ("%s" keeps '%' in messages literal)."""
    text = c_char_p(message.encode("utf-8", "replace"))
    api().obs.blog(_LEVELS.get(level, LOG_INFO), b"%s", text)  # the text is blog's variadic part
