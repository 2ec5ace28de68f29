"""The OBS side: the "WebRTC Guest" source type, guest sources and the script's controller.

The only package besides the script itself that touches libobs, always through ctypes and
only when called: importing it needs neither OBS nor obspython.

    registry    source type registered once per process; callbacks survive script reloads
    sources     one OBS source per guest and the GuestSink that feeds it frames
    frames      PyAV frames -> I420 / float planar stereo 48 kHz
    options     the script's options -> engine settings
    controller  the engine, its worker and status threads
    status      status texts and hand-over timing
    guest_properties, guest_hotkeys   a guest source's controls and its hotkeys
    script_state, script_panel        the script's state and settings, its panel in
                                      Tools > Scripts (these two import obspython)
"""

from .registry import DISPLAY_NAME, SOURCE_ID

__all__ = ["DISPLAY_NAME", "SOURCE_ID"]
