"""What OBS gives the guests' return: the sound of one audio track and the program picture.

    taps = ReturnTaps(log)
    controller = GuestRecorderController(..., obs_media=taps.media)
    taps.apply(options)        # at load and whenever the script's settings change
    taps.close()               # at unload / OBS exit: no libobs callback into Python after it

The pushed feed and picture outlive engine restarts; only the libobs callbacks come and go
with the settings.
"""

from __future__ import annotations

from collections.abc import Callable

from ..conversation.pushed_feed import PushedFeed
from ..conversation.pushed_picture import PushedPicture
from .obs_mix_tap import ObsMixTap
from .obs_program_tap import ObsProgramTap
from .options import ObsReturnSources, ScriptOptions

LogFn = Callable[[str, str], None]


class ReturnTaps:
    def __init__(self, log: LogFn) -> None:
        self._log = log
        self.media = ObsReturnSources(sound=PushedFeed(), picture=PushedPicture())
        self.track = ObsMixTap(self.media.sound, log)
        self.program = ObsProgramTap(self.media.picture, log)

    def apply(self, options: ScriptOptions) -> None:
        """Read the track and the program the options ask for; a failure is logged."""
        try:
            self.track.set_track(options.studio_track)
        except (ValueError, OSError) as exc:
            self._log("error", f"guests cannot hear OBS track {options.studio_track}: {exc}")
        try:
            self.program.set_enabled(options.return_video == "program")
        except OSError as exc:
            self._log("error", f"guests cannot see OBS's program: {exc}")

    def close(self) -> None:
        self.track.close()
        self.program.close()
        if self.media.sound.pushed:
            self._log("info", f"studio track as guests heard it: {self.media.sound.status()}")
