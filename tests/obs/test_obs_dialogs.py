"""Screenshots of what an OBS user sees of the script, at the sizes OBS opens its dialogs:
the Scripts dialog (Tools > Scripts, opened from the menu with the keyboard) and a guest
source's properties (obs-websocket's OpenInputPropertiesDialog), with a guest recording.

The words on the buttons and labels are read back from the pictures with Tesseract OCR,
so a label that the dialog cuts off fails the test. The pictures are kept in the folder
named by GUESTREC_SCREENSHOTS (else in the test's temporary folder) for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from support.obs_harness import RED_YUV, BackgroundGuest, ObsHarness, obs_available, wait_until

pytestmark = [pytest.mark.obs]
TOOLS = ("xdotool", "import", "tesseract")
# Every label and button of the panel in the video mode, and of a guest source, whole.
SCRIPT_PANEL_TEXTS = (
    "Guest link", "Control room", "Custom Browser Dock", "Guests (at",
    "1 recording, 0 live, not recording", "Refresh status",
    "Start all guest recordings", "Stop all guest recordings", "Open recordings folder",
    "A guest's own link", "Make guest link", "Invites only", "Recording", "Video + audio", "Video bitrate",
    "1000 kbps", "Video codec", "When a guest joins", "Folder", "Browse",
    "Add guests to the current scene", "Server", "Address", "Port", "Token", "Operator key", "ICE servers",
    "TURN secret", "Certificate", "Private key", "VDO.Ninja room", "Link", "Room", "Password",
    "Streams", "Director mode",
)
GUEST_PROPERTY_TEXTS = (
    "Ann: RECORDING", "320x240 at", "Record this guest", "Guest's video bitrate",
    "Hang up", "Ask guest to mute", "Ask guest to unmute", "Message to the guest",
    "Send message", "This guest's link", "Refresh status",
)


class Screen:
    """The harness's X display: find windows, press keys, take pictures."""

    def __init__(self, h: ObsHarness, folder: Path) -> None:
        self.env = dict(os.environ, DISPLAY=h.xvfb.display)
        self.folder = folder

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=20)
        return result.stdout.strip()

    def window(self, title: str) -> str | None:
        """The id of the visible window whose title is exactly this, if any."""
        found = self.xdotool("search", "--onlyvisible", "--name", f"^{re.escape(title)}$").split()
        return found[0] if found else None

    def size(self, window: str) -> tuple[int, int]:
        geometry = self.xdotool("getwindowgeometry", "--shell", window)
        shape = dict(line.split("=", 1) for line in geometry.split())
        return int(shape["WIDTH"]), int(shape["HEIGHT"])

    def shoot(self, window: str, name: str) -> Path:
        path = self.folder / name
        subprocess.run(["import", "-window", window, str(path)], env=self.env, check=True, timeout=30)
        return path

    def scroll_shots(self, window: str, name: str, wheel_at: tuple[int, int], shots: int,
                     reader: ThreadPoolExecutor) -> list[Future[str]]:
        """The text of pictures of the window from the top of its scroll area down: the mouse
        wheel turned over a spot that is no control (a scroll bar, a label column). Each
        picture is read by `reader` while the next ones are taken."""
        texts = [reader.submit(self.read, self.shoot(window, f"{name}-1.png"))]
        self.xdotool("mousemove", "--window", window, str(wheel_at[0]), str(wheel_at[1]))
        for number in range(2, shots + 1):
            self.xdotool("click", "--repeat", "4", "--delay", "50", "5")
            time.sleep(0.4)
            texts.append(reader.submit(self.read, self.shoot(window, f"{name}-{number}.png")))
        return texts

    def read(self, picture: Path) -> str:
        """The picture's text, as Tesseract reads it once the picture is enlarged and made
        black on white (OBS's theme is light on dark)."""
        clean = picture.with_suffix(".ocr.png")
        # Niced: reading runs while OBS repaints the dialog for the next picture.
        subprocess.run(["nice", "-n", "10", "convert", str(picture), "-colorspace", "Gray", "-resize", "300%",
                        "-negate", "-threshold", "40%", str(clean)], check=True, timeout=30)
        # One OpenMP thread: Tesseract's threads spin against each other on a 2-core machine
        # (1.4 s a picture instead of 0.3 s); the text read is the same.
        result = subprocess.run(["nice", "-n", "10", "tesseract", str(clean), "-", "--psm", "11"],
                                capture_output=True, text=True, timeout=60, check=True,
                                env=dict(os.environ, OMP_THREAD_LIMIT="1"))
        return re.sub(r"[ \t]+", " ", result.stdout)


def open_scripts_dialog(screen: Screen) -> str:
    """Tools > Scripts through the menu, as a keyboard user would."""
    main = wait_until(lambda: next(iter(screen.xdotool("search", "--onlyvisible", "--name", "^OBS ").split()),
                                   None),
                      20, 0.5, "OBS's main window")
    screen.xdotool("windowfocus", "--sync", main)
    screen.xdotool("key", "--window", main, "alt+t")
    time.sleep(0.5)
    # Tools: Auto-Configuration Wizard (highlighted), Automatic Scene Switcher, Output Timer, Scripts
    screen.xdotool("key", "Down", "Down", "Down", "Return")
    return wait_until(lambda: screen.window("Scripts"), 15, 0.3, "the Scripts dialog")


def words(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


def test_scripts_dialog_and_guest_properties_fit(tmp_path: Path) -> None:
    reason = obs_available() or next((f"{t} is not installed" for t in TOOLS if not shutil.which(t)), None)
    if reason:
        pytest.skip(reason)
    folder = Path(os.environ.get("GUESTREC_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    ann = None
    with ThreadPoolExecutor(max_workers=1) as reader, ObsHarness(tmp_path / "obs") as h:
        h.wait_for_server()
        screen = Screen(h, folder)
        ann = BackgroundGuest(h.whip_url("Ann"), h.token, RED_YUV).join()
        wait_until(lambda: (h.guests().get("Ann") or {}).get("recording") or None, 20, 0.5, "Ann's recording")
        time.sleep(2)  # a few seconds of figures in the status

        scripts = open_scripts_dialog(screen)
        assert screen.size(scripts) == (775, 492)  # OBS 29's default: what this panel is made for
        time.sleep(1)
        panel_texts = screen.scroll_shots(scripts, "scripts-dialog", wheel_at=(462, 300), shots=10,
                                          reader=reader)

        h.ws.open_input_properties_dialog("Ann")
        props = wait_until(lambda: screen.window("Properties for 'Ann'"), 15, 0.3, "Ann's properties")
        assert screen.size(props) == (720, 580)
        time.sleep(1)
        guest_texts = screen.scroll_shots(props, "guest-properties", wheel_at=(60, 420), shots=3,
                                          reader=reader)
        text = words(" ".join(read.result() for read in panel_texts))
        for label in SCRIPT_PANEL_TEXTS:
            assert label in text, (label, text)
        text = words(" ".join(read.result() for read in guest_texts))
        for label in GUEST_PROPERTY_TEXTS:
            assert label in text, (label, text)
    if ann is not None:
        ann.drop()
