"""The OBS side: the "WebRTC Guest" source type, guest sources and the script's controller.

The only package besides the script itself that touches libobs, always through ctypes and
only when called: importing it needs neither OBS nor obspython.

    libobs      ctypes bindings for the few libobs calls needed, loaded on first use
    preload     PyAV's codec libraries kept apart from the ones OBS links
    registry    source type registered once per process; callbacks survive script reloads
    sources     one OBS source per guest and the GuestSink that feeds it frames
    frames      PyAV frames -> I420 / float planar stereo 48 kHz
    layout      guest sources side by side in a grid that fits the canvas
    options     the script's options -> engine settings
    controller  the engine, its worker and status threads
    status      status texts and hand-over timing
    logs        the package's log records into OBS's Script Log and log file
    return_taps an OBS audio track (obs_mix_tap) and the program (obs_program_tap) pushed
                into the guests' return
    guest_properties, guest_hotkeys   a guest source's controls and its hotkeys
    script_settings                   the script's settings: limits, older settings moved
    script_state, script_panel,       the script's state and stored settings, its panel in
    room_properties                   Tools > Scripts, the VDO.Ninja room group (these
                                      three import obspython)
"""

from .registry import DISPLAY_NAME, SOURCE_ID

__all__ = ["DISPLAY_NAME", "SOURCE_ID"]
