"""Run a real OBS Studio under Xvfb with our own configuration, for the `obs` tests.

    with ObsHarness(tmp_path, script_settings={...}) as h:
        h.ws.get_input_list()               # obs-websocket (obsws_python.ReqClient)
        h.wait_for_server()                 # the script's guest server answers
        h.close_window()                    # what a user's close does; returns seconds taken

OBS gets a temporary XDG_CONFIG_HOME (global.ini, a profile, a scene collection that
loads the script with the given settings) and --multi, so nothing of a user's OBS is
read or written and no "already running" question can block start-up.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lib"))

from obs_launcher.obs_config import ObsSetup, free_port, latest_log, write_all, write_plain_collection  # noqa: E402
from obs_launcher.obs_process import Xvfb, close_obs, kill_obs, send_delete_window, start_obs  # noqa: E402

SCRIPT = ROOT / "obs_record_plugin.py"
# obsws_python logs every refused connection while OBS is still starting.
logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
OBS_BINARY = shutil.which("obs") or "/usr/bin/obs"
# Workers of an asyncio loop's default executor: it starts them on demand up to its bound
# and keeps them until the loop ends, so their number says nothing about a leak below it.
EXECUTOR_WORKER = re.compile(r"^asyncio_\d+$")
EXECUTOR_MAX_WORKERS = min(32, (os.cpu_count() or 1) + 4)


def obs_available() -> str | None:
    """Why OBS tests cannot run here, or None when they can."""
    for tool in ("obs", "Xvfb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2,
               what: str = "condition") -> Any:
    """Poll until predicate returns something other than None/False (exceptions: retry)."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value is not None and value is not False:  # arrays and 0 count as ready
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last failure on timeout
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f" (last error: {last_exc!r})" if last_exc else ""))


class ObsHarness:
    def __init__(
        self,
        workdir: Path,
        script_settings: dict[str, Any] | None = None,
        *,
        canvas: tuple[int, int] = (640, 360),
        fps: int = 15,
        extra_env: dict[str, str] | None = None,
        script: Path = SCRIPT,
        defaults: bool = True,
        extra_collections: list[str] | None = None,
        extra_scripts: list[Path] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.guest_port = free_port()
        self.ws_port = free_port()
        self.token = "test-token-0123456789"
        self.operator_key = "test-operator-key-0123456789"
        self.out_dir = self.workdir / "guests"
        self.obs_record_dir = self.workdir / "obs-recordings"
        settings: dict[str, Any] = {} if not defaults else {
            "host": "127.0.0.1", "port": self.guest_port, "token": self.token,
            "operator_key": self.operator_key,
            "out_dir": str(self.out_dir), "record_mode": "video", "video_kbps": 1000,
            "codec": "vp8", "start_recording": "join", "add_to_scene": True,
        }
        given = script_settings or {}
        if {"auto_record", "follow_obs_recording"} & set(given) and "start_recording" not in given:
            settings.pop("start_recording", None)  # the script migrates the old switches
        settings.update(given)
        self.setup = ObsSetup(
            config_home=self.workdir / "config",
            script_path=script,
            script_settings=settings,
            websocket_port=self.ws_port,
            record_dir=self.obs_record_dir,
            canvas=canvas,
            fps=fps,
            confirm_on_exit=False,
            fresh=True,
            extra_scripts=list(extra_scripts or []),
        )
        self.extra_env = {"GUESTREC_TEST_THREAD_REPORT": str(self.workdir / "python-threads.json"),
                          **(extra_env or {})}
        self.extra_collections = extra_collections or []
        self.xvfb: Xvfb | None = None
        self.proc: subprocess.Popen | None = None
        self._ws = None
        self.stdout_path = self.workdir / "obs-stdout.txt"

    # ----- start / stop ---------------------------------------------------------------

    def start(self, timeout: float = 90) -> ObsHarness:
        write_all(self.setup)
        for name in self.extra_collections:
            write_plain_collection(self.setup, name)
        self.xvfb = Xvfb()
        self._stdout = self.stdout_path.open("wb")
        self.proc = start_obs(self.setup, self.xvfb.display, obs_binary=OBS_BINARY,
                              output=self._stdout, cwd=self.workdir, extra_env=self.extra_env)
        try:
            # A refused connection costs a millisecond: looked for often, a test starts
            # as soon as OBS answers (it does within a second).
            wait_until(self._ws_ready, timeout, 0.1, "obs-websocket")
        except Exception:
            self.stop()
            raise
        return self

    def _ws_ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"OBS exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        import obsws_python as obsws

        self._ws = obsws.ReqClient(host="127.0.0.1", port=self.ws_port, password="", timeout=10)
        return True

    @property
    def ws(self):
        if self._ws is None:
            raise RuntimeError("OBS is not running")
        return self._ws

    def event_client(self, subs: int):
        import obsws_python as obsws

        return obsws.EventClient(host="127.0.0.1", port=self.ws_port, password="", timeout=10,
                                 subs=subs)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close_window(self, timeout: float = 20) -> float:
        """Close OBS the way a user does (WM_DELETE_WINDOW); seconds until the process ended."""
        self._disconnect_ws()
        start = time.monotonic()
        send_delete_window(self.xvfb.display, self.proc.pid)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return float("inf")
        return time.monotonic() - start

    def stop(self) -> None:
        self._disconnect_ws()
        if self.proc is not None and self.proc.poll() is None:
            if self.xvfb is not None:
                close_obs(self.proc, self.xvfb.display, timeout=15)
            kill_obs(self.proc)
        if self.xvfb is not None:
            self.xvfb.stop()
            self.xvfb = None
        if getattr(self, "_stdout", None):
            self._stdout.close()
            self._stdout = None

    def _disconnect_ws(self) -> None:
        if self._ws is not None:
            try:
                self._ws.disconnect()
            except Exception:  # noqa: BLE001 - OBS may be gone already
                pass
            self._ws = None

    def __enter__(self) -> ObsHarness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- guest server and logs ------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.guest_port}"

    def whip_url(self, guest: str) -> str:
        from urllib.parse import quote

        return f"{self.base_url}/whip/{quote(guest)}"

    def wait_for_server(self, timeout: float = 30) -> None:
        def up() -> bool:
            try:
                urllib.request.urlopen(self.base_url + "/", timeout=2).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answers; the status does not matter here
        wait_until(up, timeout, 0.1, "the guest server")

    def log_text(self) -> str:
        path = latest_log(self.setup)
        return path.read_text(errors="replace") if path else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def screenshot_rgb(self, source: str, width: int = 64, height: int = 36):
        """The source as OBS renders it, as an RGB numpy array (height, width, 3)."""
        import base64
        import io

        import av

        data = self.ws.get_source_screenshot(source, "png", width, height, -1).image_data
        raw = base64.b64decode(data.split(",", 1)[1])
        with av.open(io.BytesIO(raw), format="png_pipe") as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="rgb24")

    def meter_peak(self, source: str, seconds: float = 1.5) -> float:
        """The highest peak level (0..1) OBS's volume meter shows for a source."""
        import obsws_python as obsws

        peaks: list[float] = []

        def on_input_volume_meters(data) -> None:
            for item in data.inputs:
                if item["inputName"] == source and item["inputLevelsMul"]:
                    peaks.append(max(channel[1] for channel in item["inputLevelsMul"]))

        client = self.event_client(obsws.Subs.INPUTVOLUMEMETERS)
        try:
            client.callback.register(on_input_volume_meters)
            time.sleep(seconds)
        finally:
            client.disconnect()
        return max(peaks) if peaks else 0.0

    def guests(self) -> dict[str, dict[str, Any]]:
        """The guest server's own status of every guest with a connection, by name (a
        dropped guest awaiting its return is in `awaited()` instead)."""
        statuses = [s for s in self._guest_list() if not s.get("returning")]
        for status in statuses:
            # The API names files without the server's folders; the test knows them.
            if status.get("file") and status.get("session_folder"):
                status["file"] = str(self.out_dir.resolve() / status["session_folder"] / status["file"])
        return {g["name"]: g for g in statuses}

    def awaited(self) -> list[str]:
        """Dropped guests whose name, source and take wait for their return."""
        return [s["name"] for s in self._guest_list() if s.get("returning")]

    def _guest_list(self) -> list[dict[str, Any]]:
        request = urllib.request.Request(self.base_url + "/api/guests",
                                         headers={"Authorization": f"Bearer {self.operator_key}"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            return json.load(resp)

    def inputs_of_our_kind(self) -> list[str]:
        return [i["inputName"] for i in self.ws.get_input_list().inputs
                if i["unversionedInputKind"] == "guestrec_webrtc_guest"]

    # Qt's global thread pool: its threads are OBS's, come and go with UI work and end
    # after 30 s idle, so they say nothing about the product.
    QT_POOL_THREAD = "Thread (pooled)"

    def thread_count(self) -> int:
        """Native threads of the OBS process, Qt's pool threads left out."""
        names = self.thread_names()
        return sum(names.values()) - names.get(self.QT_POOL_THREAD, 0)

    def python_threads(self, timeout: float = 10) -> list[str]:
        """Names of the Python threads alive in OBS (needs the reload helper script)."""
        report = self.workdir / "python-threads.json"
        report.unlink(missing_ok=True)
        self.ws.trigger_hotkey_by_name("guestrec_test_threads")
        return wait_until(lambda: report.exists() and json.loads(report.read_text()),
                          timeout, 0.1, "the Python thread report")

    def thread_snapshot(self) -> tuple[int, list[str]]:
        """(native threads that are not Python's and not Qt's pool, Python thread names)."""
        python = self.python_threads()
        return self.thread_count() - len(python), python

    # Native threads that one round may leave behind for a while: loaded runs saw 16, 20, 20
    # and 16, 16, 20 (four more, appearing once, not growing), with no object of the
    # earlier loads alive in Python. Four rounds: a leak of two a round gets past this.
    NATIVE_ROUND_SLACK = 4

    def assert_no_thread_pileup(self, snapshots: list[tuple[int, list[str]]],
                                settle: float = 20.0) -> None:
        """After rounds that each ended with a thread snapshot: the named Python threads are
        those of the first round, executor workers stay within the executor's bound, and
        other native threads (codecs, libobs) are at most one round's worth above the first
        round. A dropped guest's threads wind down over some seconds; leaked ones never do,
        and pile up round after round past that (a leak seen before: 18, 20, 24)."""
        first_native, first_python = snapshots[0]
        first_named = Counter(n for n in first_python if not EXECUTOR_WORKER.match(n))
        deadline = time.monotonic() + settle
        while True:
            native, python = self.thread_snapshot()
            named = Counter(n for n in python if not EXECUTOR_WORKER.match(n))
            workers = len(python) - sum(named.values())
            problems = []
            if named - first_named:
                problems.append(f"Python threads beyond the first round's: {dict(named - first_named)}")
            if workers > EXECUTOR_MAX_WORKERS:
                problems.append(f"{workers} executor workers, more than one loop's executor holds")
            if native > first_native + self.NATIVE_ROUND_SLACK:
                problems.append(f"{native} other native threads, first round {first_native}")
            if not problems or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        assert not problems, (f"{'; '.join(problems)}. After each round {snapshots}; "
                              f"native names now {self.thread_names()}")

    def thread_names(self) -> dict[str, int]:
        """Native thread names of the OBS process, counted."""
        names: dict[str, int] = {}
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                name = Path(f"/proc/{self.proc.pid}/task/{tid}/comm").read_text().strip()
            except OSError:
                continue
            names[name] = names.get(name, 0) + 1
        return names

    def guestrec_log_lines(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if "[guestrec]" in line]

    def handover_stats(self) -> dict[str, dict[str, Any]]:
        """The bridge's hand-over stats lines, per guest (logged when a guest leaves)."""
        found: dict[str, dict[str, Any]] = {}
        marker = "hand-over stats "
        for line in self.log_text().splitlines():
            if marker in line:
                rest = line.split(marker, 1)[1]
                decoder = json.JSONDecoder()
                name, end = decoder.raw_decode(rest)
                found[name] = decoder.raw_decode(rest[end:].lstrip())[0]
        return found



def ffprobe(path: Path) -> dict[str, Any]:
    """ffprobe's view of a file: format and streams (raises if it cannot read it)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        raise AssertionError(f"ffprobe failed on {path}: {result.stderr}")
    return json.loads(result.stdout)


def decode_all(path: Path) -> dict[str, int]:
    """Decode every packet with PyAV; frames per stream kind (errors raise)."""
    import av

    counts = {"video": 0, "audio": 0}
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] += 1
    return counts


class BackgroundGuest:
    """A WHIP guest on its own asyncio thread, for tests that are not async.

    Sends a flat colour (Y, U, V) and a tone, like a camera and microphone would.
    """

    def __init__(self, url: str, token: str, color: tuple[int, int, int] = (16, 128, 128),
                 tone_hz: float = 440.0, size: tuple[int, int] = (320, 240), fps: int = 15,
                 tracks: Callable[[], list] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        import asyncio
        import threading

        self.url, self.token, self.make_tracks, self.headers = url, token, tracks, headers
        self.color, self.tone_hz, self.size, self.fps = color, tone_hz, size, fps
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-guest", daemon=True)
        self.thread.start()
        self.client = None

    def _run(self, coro, timeout: float = 30):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def join(self, timeout: float = 20) -> BackgroundGuest:
        from support.synthetic import SolidVideoTrack, ToneAudioTrack
        from support.whip_client import WhipClient

        async def go():
            if self.make_tracks is not None:
                tracks = self.make_tracks()
            else:
                tracks = [ToneAudioTrack(frequency=self.tone_hz),
                          SolidVideoTrack(self.size[0], self.size[1], self.fps, color=self.color)]
            self.client = WhipClient(self.url, token=self.token, tracks=tracks, headers=self.headers)
            await self.client.publish()
            await self.client.wait_connected(timeout)

        self._run(go(), timeout + 10)
        return self

    def leave(self) -> None:
        if self.client is not None:
            try:
                self._run(self.client.close(), 20)
            finally:
                self.client = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    def drop(self) -> None:
        """Vanish without hanging up (no DELETE), like a closed laptop."""
        if self.client is not None:
            client, self.client = self.client, None
            self._run(client.pc.close(), 20)
        self.leave()


# BT.601 limited-range YUV of pure colours, and their RGB
RED_YUV, RED_RGB = (81, 90, 240), (255, 0, 0)
GREEN_YUV, GREEN_RGB = (145, 54, 34), (0, 255, 0)
BLUE_YUV, BLUE_RGB = (41, 240, 110), (0, 0, 255)


def mean_rgb(pixels) -> tuple[float, float, float]:
    m = pixels.reshape(-1, 3).mean(axis=0)
    return float(m[0]), float(m[1]), float(m[2])


def close_to(rgb, want, tolerance: float = 25) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True))
