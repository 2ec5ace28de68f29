"""Janus AudioBridge requests for the return feed through the SFU.

Janus mixes the room for every participant without that participant's own voice (a
mix-minus per listener), so guests there hear each other and the studio without a mixer
of ours. install/janus.sh makes an AudioBridge room with the VideoRoom room's number.

    await check_bridge(session, room)          JanusError with a clear reason if absent
    part = await BridgeParticipant.join(session, room, display, offer_sdp)
    part.answer_sdp; await part.move(hold_room(room), muted=True); await part.leave()
"""

from __future__ import annotations

import logging

from .janus_client import JanusError, JanusHandle, JanusSession

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.audiobridge"
NO_SUCH_ROOM = 485  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_ROOM
# Guests on hold are moved to room + HOLD_OFFSET, muted: they hear nothing there (Janus
# 1.1 cannot stop one participant's mix otherwise). install/janus.sh makes that room.
HOLD_OFFSET = 1_000_000_000


def hold_room(room: int) -> int:
    return room + HOLD_OFFSET


async def check_bridge(session: JanusSession, room: int) -> None:
    handle = await session.attach(PLUGIN)
    try:
        data, _ = await handle.request({"request": "exists", "room": room})
    finally:
        await handle.detach()
    if not data.get("exists"):
        raise JanusError(f"Janus has no AudioBridge room {room}, so guests cannot hear each other "
                         "(run install/janus.sh again: it makes one)", NO_SUCH_ROOM)


class BridgeParticipant:
    """One connection in the AudioBridge room: a guest's relayed offer, or the studio's."""

    def __init__(self, handle: JanusHandle, participant_id: int, answer_sdp: str) -> None:
        self.handle = handle
        self.id = participant_id
        self.answer_sdp = answer_sdp
        self.muted = False

    @classmethod
    async def join(cls, session: JanusSession, room: int, display: str, offer_sdp: str,
                   muted: bool = False) -> BridgeParticipant:
        """Join as `display` with the offer; Janus answers in the same step."""
        handle = await session.attach(PLUGIN)
        try:
            joined, jsep = await handle.request(
                {"request": "join", "room": room, "display": display, "muted": muted},
                jsep={"type": "offer", "sdp": offer_sdp})
            if not jsep or jsep.get("type") != "answer" or not jsep.get("sdp"):
                raise JanusError("Janus took the return connection but sent no SDP answer")
        except BaseException:
            await handle.detach()
            raise
        return cls(handle, int(joined.get("id") or 0), str(jsep["sdp"]))

    async def move(self, room: int, muted: bool) -> None:
        """Into another room on the same connection; muted, nobody there hears it."""
        await self.handle.request({"request": "changeroom", "room": room, "muted": muted}, timeout=5)
        self.muted = muted

    async def leave(self) -> None:
        try:
            await self.handle.request({"request": "leave"}, timeout=5)
        except JanusError as exc:
            log.debug("leaving the audio bridge: %s", exc)
        await self.handle.detach()
