"""What OBS gives the guests' return: the sound of one audio track and the program picture.

    taps = ReturnTaps(log)
    controller = GuestRecorderController(..., obs_media=taps.media)
    taps.apply(options)        # at load and whenever the script's settings change
    taps.follow_listeners()    # every second (the script's timer)
    taps.close()               # at unload / OBS exit: no libobs callback into Python after it

The libobs callbacks run on OBS's audio and video threads and take Python's lock each
time, so they are registered only while a guest listens (the mixer reads the track) or
watches (the encoder asks for the program), and removed `IDLE_SECONDS` after the last one
stopped. A guest who starts listening hears OBS's track about a second later. The pushed
feed and picture outlive engine restarts.
"""

from __future__ import annotations

from collections.abc import Callable

from ..conversation.pushed_feed import PushedFeed
from ..conversation.pushed_picture import PushedPicture
from .obs_mix_tap import TRACKS, ObsMixTap
from .obs_program_tap import ObsProgramTap
from .options import ObsReturnSources, ScriptOptions

LogFn = Callable[[str, str], None]
IDLE_SECONDS = 3.0


class ReturnTaps:
    def __init__(self, log: LogFn) -> None:
        self._log = log
        self.media = ObsReturnSources(sound=PushedFeed(), picture=PushedPicture())
        self.track = ObsMixTap(self.media.sound, log)
        self.program = ObsProgramTap(self.media.picture, log)
        self._hear = 0  # the track the options ask for (0: none)
        self._see_program = False
        self._closed = False

    def apply(self, options: ScriptOptions) -> None:
        """Take the track and the picture the options ask for; they are read from the next
        follow_listeners() on, while someone listens or watches."""
        hear = options.studio_track
        if hear not in TRACKS and hear != 0:
            self._log("error", f"guests cannot hear OBS track {hear}: OBS has tracks 1 to {max(TRACKS)}; "
                               "choose one in the script's Guests group")
            hear = 0
        if hear != self._hear:
            self._log("info", f"guests hear OBS's audio track {hear}" if hear else "guests hear no OBS track")
        see = options.return_video == "program"
        if see != self._see_program:
            self._log("info", "guests see OBS's program" if see else "guests no longer see OBS's program")
        self._hear, self._see_program = hear, see
        self.follow_listeners()

    def follow_listeners(self) -> None:
        """Read what someone listens to or watches now, nothing else; a failure is logged."""
        if self._closed:
            return
        hear = self._hear if self.media.sound.read_within(IDLE_SECONDS) else 0
        see = self._see_program and self.media.picture.asked_within(IDLE_SECONDS)
        try:
            self.track.set_track(hear)
        except OSError as exc:
            self._log("error", f"guests cannot hear OBS track {hear}: {exc}")
        try:
            self.program.set_enabled(see)
        except OSError as exc:
            self._log("error", f"guests cannot see OBS's program: {exc}")

    def close(self) -> None:
        self._closed = True
        self.track.close()
        self.program.close()
        if self.media.sound.pushed:
            self._log("info", f"studio track as guests heard it: {self.media.sound.status()}")
