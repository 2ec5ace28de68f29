"""The guest core: one guest whatever brought it (WHIP, a VDO.Ninja room, an SFU).

An ingest adapter makes the peer connection and knows its signaling; it hands the core a
connection, a name and a control channel (`GuestRoster.admit`). From then on the core
owns the guest: media taps, recording, the OBS sink, status, director controls and the
end of the guest. Adding an ingest never touches this package.
"""

from .guest import ControlRefused, Guest, GuestConfig, GuestControl
from .page_channel import PageChannel
from .roster import CONNECT_TIMEOUT_S, MAX_GUESTS, GuestRoster

__all__ = [
    "ControlRefused",
    "CONNECT_TIMEOUT_S", "MAX_GUESTS", "Guest", "GuestConfig", "GuestControl", "GuestRoster",
    "PageChannel",
]
