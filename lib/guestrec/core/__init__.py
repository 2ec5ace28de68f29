"""The guest core: one guest whatever brought it (WHIP, a VDO.Ninja room, an SFU).

An ingest adapter makes the peer connection and knows its signaling; it hands the core a
connection, a name and a control channel (`GuestRoster.admit`). From then on the core
owns the guest: media taps, recording, the OBS sink, status, director controls and the
end of the guest. Adding an ingest never touches this package.

The parts, each in its own file:
    roster             GuestRoster: the one entry point for ingests and the engine; composes the rest
    guest              Guest (one guest's facts, its failure), GuestConfig, GuestControl
    guest_table        GuestTable: the guests now, by id, by name, in order
    guest_lifecycle    GuestLifecycle: admit, connect watchdog, finish, hold for the return or end
    connection_wiring  ConnectionWiring: peer connection events -> media, sink, failure reasons
    recording_control  RecordingControl: studio and browser recordings, session folders, takes
    status_view        StatusView: what `guest_statuses()` shows of each guest
    guest_messenger    GuestMessenger: telling the guest its status, errors and the studio's end
    end_reasons        why a guest ended, and which ends let it come back
    admission          who gets a slot: connected guests and offers still connecting
    guest_names        GuestNames: names taken by guests, offers and guests awaited back
    continuity         Continuity, Take, LastingSink: what a dropped guest gets back
    guest_side         GuestSideRecordings: the recording in the guest's browser
    session_folder     SessionFolders: a folder and manifest per recording session
    live_stats         LiveStats: bitrate, frame rate and loss for status displays
    liveness           noticing a dead guest within seconds (ICE consent checks)
    media_liveness     arriving media counts as a consent answer (publishers that never answer)
    page_channel       PageChannel: our guest page's control channel
    director           Director: hang up, mute, message, bitrate of one guest
    screen_shares      a guest's screen share: its name, its owner, ending with the owner
"""

from .admission import MAX_GUESTS
from .guest import ControlRefused, Guest, GuestConfig, GuestControl
from .guest_lifecycle import CONNECT_TIMEOUT_S
from .page_channel import PageChannel
from .roster import GuestRoster

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_GUESTS",
    "ControlRefused",
    "Guest",
    "GuestConfig",
    "GuestControl",
    "GuestRoster",
    "PageChannel",
]
