"""One guest's view of the shared return video: the same VP8 packets every guest gets.

A guest can only start decoding at a keyframe, so the track passes nothing before the
first keyframe it sees (the encoder is asked for one when the track starts). A sender
that falls so far behind that its queue overflows has lost frames its decoder needs:
the track starts over at the next keyframe and asks for one.
"""

from __future__ import annotations

from collections.abc import Callable

import av

from .packet_track import PacketTrack

MAX_QUEUED = 8  # about half a second at 15 fps


class SharedVideoTrack(PacketTrack):
    kind = "video"

    def __init__(
        self, guest: str, request_keyframe: Callable[[], None],
        on_start: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("video", MAX_QUEUED, on_start)
        self.guest = guest
        self._request_keyframe = request_keyframe
        self._waiting_for_keyframe = True
        self.paused = False  # on hold: the picture stops where it was

    def offer(self, packet: av.Packet) -> None:
        """A packet of the shared encode; passed on once this guest can decode it."""
        if self.paused:
            return
        if self._waiting_for_keyframe:
            if not packet.is_keyframe:
                return
            self._waiting_for_keyframe = False
        if not self.put(packet):
            self.clear()
            self._waiting_for_keyframe = True
            self._request_keyframe()

    def restart(self) -> None:
        """Subscribed again after a pause: pass nothing until the next keyframe."""
        self.clear()
        self._waiting_for_keyframe = True

    def set_paused(self, paused: bool) -> None:
        if paused == self.paused:
            return
        self.paused = paused
        if not paused:
            self._waiting_for_keyframe = True
            self._request_keyframe()
