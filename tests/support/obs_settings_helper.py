"""An OBS script for tests: changes the product script's settings as its properties do.

Loaded beside obs_record_plugin.py. Its hotkey "guestrec_test_settings" (triggered through
obs-websocket) reads the JSON object in the file named by GUESTREC_TEST_SETTINGS and,
on OBS's UI thread, hands it to obs_script_update() for the product script: the settings
are merged into the script's own and its script_update runs, exactly as when a user
changes a property in Tools > Scripts.
"""

import ctypes
import os
import sys

import obspython as obs

_scripting = ctypes.CDLL("libobs-scripting.so.1")
_scripting.obs_script_update.restype = None
_scripting.obs_script_update.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_libobs = ctypes.CDLL("libobs.so.0")
_libobs.obs_data_create_from_json.restype = ctypes.c_void_p
_libobs.obs_data_create_from_json.argtypes = [ctypes.c_char_p]
_libobs.obs_data_release.argtypes = [ctypes.c_void_p]
_TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_libobs.obs_queue_task.argtypes = [ctypes.c_int, _TASK, ctypes.c_void_p, ctypes.c_bool]
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_state = {"hotkey": None, "count": 0}


def _apply_on_ui_thread(_param):
    module = sys.modules.get("obs_record_plugin")
    if module is None:
        print("[settings-helper] product script not loaded")
        return
    with open(os.environ["GUESTREC_TEST_SETTINGS"], "rb") as source:
        text = source.read()
    data = _libobs.obs_data_create_from_json(text)
    _scripting.obs_script_update(_get_pointer(module.__script_data__, None), data)
    _libobs.obs_data_release(data)
    _state["count"] += 1
    print(f"[settings-helper] settings {_state['count']} applied: {text.decode()}")


_task = _TASK(_apply_on_ui_thread)


def _pressed(pressed):
    if pressed:
        _libobs.obs_queue_task(0, _task, None, False)  # 0 = OBS_TASK_UI


def script_load(settings):
    _state["hotkey"] = obs.obs_hotkey_register_frontend("guestrec_test_settings", "test settings", _pressed)


def script_unload():
    if _state["hotkey"] is not None:
        obs.obs_hotkey_unregister(_state["hotkey"])
