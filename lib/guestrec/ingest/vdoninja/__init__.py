"""A VDO.Ninja room as a guest source: every member who publishes becomes a guest.

    names.py      room/stream ids and passwords as they go on the wire (hashes)
    crypto.py     the AES-256-CBC of the signaling fields
    signaling.py  the handshake WebSocket, reconnecting with backoff
    dialects.py   the hosted server's messages and the self-hosted relay's
    peer.py       one guest's connection as we view it; its control channel for the core
    room.py       the room: finds publishers, answers offers, guests come and go
    settings.py   the studio's settings, and a VDO.Ninja link read into them
"""

from .settings import DEFAULT_SERVER, VdoSettings, VdoSettingsError, settings_from_link


def __getattr__(name: str):  # VdoRoom loads aiortc: only when asked for
    if name == "VdoRoom":
        from .room import VdoRoom

        return VdoRoom
    raise AttributeError(name)


__all__ = ["DEFAULT_SERVER", "VdoRoom", "VdoSettings", "VdoSettingsError", "settings_from_link"]
