"""Janus AudioBridge requests for the return feed through the SFU.

Janus mixes the room for every participant without that participant's own voice (a
mix-minus per listener), so guests there hear each other and the studio without a mixer
of ours. install/janus.sh makes an AudioBridge room with the VideoRoom room's number.

    await check_bridge(session, room)          JanusError with a clear reason if absent
    part = await BridgeParticipant.join(session, room, display, offer_sdp)
    part.answer_sdp; await part.mute(True); await part.leave()
"""

from __future__ import annotations

import logging

from .janus_client import JanusError, JanusHandle, JanusSession

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.audiobridge"
NO_SUCH_ROOM = 485  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_ROOM


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
    async def join(cls, session: JanusSession, room: int, display: str, offer_sdp: str) -> BridgeParticipant:
        """Join as `display` with the offer; Janus answers in the same step."""
        handle = await session.attach(PLUGIN)
        try:
            joined, jsep = await handle.request(
                {"request": "join", "room": room, "display": display, "muted": False},
                jsep={"type": "offer", "sdp": offer_sdp})
            if not jsep or jsep.get("type") != "answer" or not jsep.get("sdp"):
                raise JanusError("Janus took the return connection but sent no SDP answer")
        except BaseException:
            await handle.detach()
            raise
        return cls(handle, int(joined.get("id") or 0), str(jsep["sdp"]))

    async def mute(self, on: bool) -> None:
        """Muted, nobody in the room hears this participant (it still hears the room)."""
        await self.handle.request({"request": "configure", "muted": on}, timeout=5)
        self.muted = on

    async def leave(self) -> None:
        try:
            await self.handle.request({"request": "leave"}, timeout=5)
        except JanusError as exc:
            log.debug("leaving the audio bridge: %s", exc)
        await self.handle.detach()
