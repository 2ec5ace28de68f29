"""The SFU ingest: guests through a Janus VideoRoom room, for more than one machine.

    janus_client     Janus's HTTP API (long poll): sessions, handles, requests, loss
    videoroom        the VideoRoom requests: room check, publishers, publish, subscribe
    watcher          follows the room's publishers, through Janus restarts
    follower         one subscribed aiortc connection per guest, handed to the guest core
    consent          aioice's own ICE consent pace for connections to Janus
    receive_buffers  larger UDP buffers for subscriber sockets
    studio           WHIP guests relayed into the room as publishers (serve --sfu)
    page_events      the guest page's recording state as server-sent events
    shard            which recorder records which guest
    shard_recorder   `guestrec sfu-record`
    link             `guestrec sfu-link`: one Janus's guests published on another
"""

from __future__ import annotations

SCHEME = "janus:"


class SfuSettingError(ValueError):
    pass


def parse_sfu(value: str) -> str:
    """The Janus HTTP API URL from "janus:http://host:8088/janus"."""
    if not value.startswith(SCHEME):
        raise SfuSettingError(f"the SFU must be given as janus:URL (got {value!r}); only Janus is supported")
    url = value[len(SCHEME):].strip()
    if not url.startswith(("http://", "https://")):
        raise SfuSettingError(
            f"the Janus URL must be its HTTP API, e.g. janus:http://host:8088/janus (got {url!r})")
    return url.rstrip("/")


def parse_room(value: str | int) -> int:
    try:
        room = int(value)
    except (TypeError, ValueError):
        raise SfuSettingError(f"the SFU room must be a number (got {value!r})") from None
    if room <= 0:
        raise SfuSettingError(f"the SFU room must be a positive number (got {room})")
    return room
