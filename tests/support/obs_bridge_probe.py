"""An OBS script for tests: feeds the bridge's GuestSink with made-up frames, no engine.

It checks the libobs side on its own: source type, source per guest, I420 video and float
planar audio through ctypes. Loaded by tests/test_obs_bridge.py in place of the product
script. Settings: "guest" (source name), "y", "u", "v" (colour), "tone_hz", "seconds",
"pixel_format" (what the frames are made as, e.g. yuv420p or rgb24), "audio_format" (s16,
fltp, ...), "leave_after" (seconds; then on_disconnected is called), "leave_file" (a path:
on_disconnected is called as soon as that file exists, if before "leave_after").
"""

import sys
import threading
import time
from pathlib import Path

import obspython as obs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lib"))
for venv_site in (ROOT / ".venv" / "lib").glob("python3*/site-packages"):
    sys.path.insert(0, str(venv_site))

from guestrec.obs_bridge.preload import isolate_pyav_libraries  # noqa: E402

isolate_pyav_libraries()
import av  # noqa: E402
import numpy as np  # noqa: E402

from guestrec.obs_bridge.sources import GuestSourceManager  # noqa: E402

state = {"manager": None, "thread": None, "stop": threading.Event()}


def _log(level, message):
    print(f"[probe] {level}: {message}")


def _video_frame(pixel_format, y, u, v, width=320, height=240):
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, value in zip(frame.planes, (y, u, v), strict=True):
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        rows[:, :] = value
    if pixel_format != "yuv420p":
        frame = frame.reformat(format=pixel_format)
    return frame


def _audio_frame(audio_format, tone_hz, first, samples=960):
    n = np.arange(first, first + samples)
    mono = 0.4 * np.sin(2 * np.pi * tone_hz * n / 48000)
    pcm = (mono * 32767).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(np.repeat(pcm, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = 48000
    if audio_format != "s16":
        frame = av.AudioResampler(format=audio_format, layout="stereo", rate=48000).resample(frame)[0]
    return frame


def _feed(settings):
    manager = state["manager"]
    sink = manager.sink_factory(settings["guest"])
    sink.on_connected()
    video = _video_frame(settings["pixel_format"], settings["y"], settings["u"], settings["v"])
    start = time.monotonic()
    base_ns = time.time_ns()
    sample = 0
    next_video = 0.0
    while not state["stop"].is_set():
        elapsed = time.monotonic() - start
        if (settings["leave_after"] and elapsed > settings["leave_after"]) or (
                settings["leave_file"] and Path(settings["leave_file"]).exists()):
            sink.on_disconnected()
            return
        if elapsed >= settings["seconds"]:
            break
        while sample / 48000 <= elapsed + 0.02:
            frame = _audio_frame(settings["audio_format"], settings["tone_hz"], sample)
            sink.on_audio(frame, base_ns + sample * 1_000_000_000 // 48000)
            sample += 960
        if elapsed >= next_video:
            sink.on_video(video, base_ns + int(next_video * 1e9))
            next_video += 1 / 15
        time.sleep(0.01)
    sink.on_disconnected()


def script_load(settings):
    options = {
        "guest": obs.obs_data_get_string(settings, "guest") or "Probe",
        "y": obs.obs_data_get_int(settings, "y"), "u": obs.obs_data_get_int(settings, "u"),
        "v": obs.obs_data_get_int(settings, "v"),
        "tone_hz": obs.obs_data_get_double(settings, "tone_hz") or 440.0,
        "seconds": obs.obs_data_get_double(settings, "seconds") or 30.0,
        "pixel_format": obs.obs_data_get_string(settings, "pixel_format") or "yuv420p",
        "audio_format": obs.obs_data_get_string(settings, "audio_format") or "s16",
        "leave_after": obs.obs_data_get_double(settings, "leave_after"),
        "leave_file": obs.obs_data_get_string(settings, "leave_file"),
    }
    manager = GuestSourceManager(
        add_to_scene=lambda: True, guest_status=lambda g: None,
        set_recording=lambda g, on: None, log=_log)
    manager.install()
    state["manager"] = manager
    state["stop"].clear()
    thread = threading.Thread(target=_feed, args=(options,), daemon=True)
    thread.start()
    state["thread"] = thread


def script_unload():
    state["stop"].set()
    if state["thread"] is not None:
        state["thread"].join(5)
    if state["manager"] is not None:
        state["manager"].close()
