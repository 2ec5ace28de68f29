"""An OBS script for tests: presses the Scripts dialog's "Reload" for the product script.

Loaded beside obs_record_plugin.py. Its hotkey "guestrec_test_reload" (triggered through
obs-websocket) queues a task on OBS's UI thread that calls obs_script_reload() on the
product script, which is exactly what the dialog's Reload button does: script_unload,
then the module is reloaded (PyImport_ReloadModule) and script_load runs again.
The script object is found through the capsule OBS puts on every script module.
Its hotkey "guestrec_test_threads" writes the names of the Python threads alive in OBS to
the file named by GUESTREC_TEST_THREAD_REPORT, so a test can tell the product's threads from
OBS's and Qt's own. (A file, not the log: OBS drops a log line after 30 in a row that come
from the same format string.)
"""

import ctypes
import json
import os
import sys
import threading

import obspython as obs

_scripting = ctypes.CDLL("libobs-scripting.so.1")
_scripting.obs_script_reload.restype = ctypes.c_bool
_scripting.obs_script_reload.argtypes = [ctypes.c_void_p]
_scripting.obs_script_get_path.restype = ctypes.c_char_p
_scripting.obs_script_get_path.argtypes = [ctypes.c_void_p]
_libobs = ctypes.CDLL("libobs.so.0")
_TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_libobs.obs_queue_task.argtypes = [ctypes.c_int, _TASK, ctypes.c_void_p, ctypes.c_bool]
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_state = {"hotkey": None, "threads_hotkey": None, "count": 0}


def _reload_on_ui_thread(_param):
    module = sys.modules.get("obs_record_plugin")
    if module is None:
        print("[reload-helper] product script not loaded")
        return
    script = _get_pointer(module.__script_data__, None)
    ok = _scripting.obs_script_reload(script)
    _state["count"] += 1
    print(f"[reload-helper] reload {_state['count']} of "
          f"{_scripting.obs_script_get_path(script).decode()}: {'ok' if ok else 'FAILED'}")


_task = _TASK(_reload_on_ui_thread)


def _pressed(pressed):
    if pressed:
        _libobs.obs_queue_task(0, _task, None, False)  # 0 = OBS_TASK_UI


def _threads_pressed(pressed):
    if pressed:
        names = sorted(t.name for t in threading.enumerate())
        report = os.environ["GUESTREC_TEST_THREAD_REPORT"]
        with open(report + ".part", "w") as out:
            json.dump(names, out)
        os.replace(report + ".part", report)  # the reader never sees half a report


def script_load(settings):
    _state["hotkey"] = obs.obs_hotkey_register_frontend("guestrec_test_reload", "test reload", _pressed)
    _state["threads_hotkey"] = obs.obs_hotkey_register_frontend(
        "guestrec_test_threads", "test thread report", _threads_pressed)


def script_unload():
    for key in ("hotkey", "threads_hotkey"):
        if _state[key] is not None:
            obs.obs_hotkey_unregister(_state[key])
