"""The return feed through the Janus SFU (`serve --sfu`): guests hear and see the show.

Janus does the mixing: every guest page opens a second connection into the AudioBridge
room (its microphone in, everyone else out: a mix-minus per guest), and the studio is
one more participant there, sending its own sound (an OBS track or a file) and the
voices of guests who are not in the room (publishers that only send, like FFmpeg), from
its own subscriptions; never a voice of a guest in the room. The grid of the guests
(decoded from the studio's subscriptions) is encoded once and published into the
VideoRoom under RETURN_DISPLAY; a guest page that wants it subscribes to it through us
(Janus offers, the page answers), and the grid is encoded only while some guest
watches. Nothing of this reaches a recording: guests are recorded from their VideoRoom
publications only.

    bridge = SfuReturn(returns, room, ice_servers)
    await bridge.start(session)           # also after a Janus restart; stop() when lost
    answer = await bridge.guest_sound(sid, name, offer_sdp)   # ReturnRefused with a reason
    offer = await bridge.guest_picture_offer(sid); await bridge.guest_picture_answer(sid, sdp)
    await bridge.guest_gone(sid)                              # by WHIP session: a rejoin is another
    bridge.hold("Ann", True)      # the operator's hold: Ann waits muted in the hold room

Talkback (the studio's sound to one guest alone) has no counterpart in Janus 1.1's
AudioBridge, so it is refused through the SFU.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from ...common.background import spawn
from ...conversation.return_connection import ReturnConnection
from ...conversation.return_feed import ReturnFeed
from .audiobridge import BridgeParticipant, check_bridge, hold_room
from .janus_client import JanusError, JanusHandle, JanusSession
from .videoroom import RETURN_DISPLAY, PublisherRelay, join_as_subscriber, start_subscriber

log = logging.getLogger(__name__)

STUDIO_DISPLAY = "guestrec studio"  # the studio's sound in the AudioBridge room


class ReturnRefused(Exception):
    """A guest's return connection cannot be made; `status` and the reason go to its page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class _GuestLines:
    name: str
    sound: BridgeParticipant | None = None
    picture: JanusHandle | None = None
    picture_started: bool = False
    picture_paused: bool = False


class SfuReturn:
    talkback_available = False  # see the module's docstring
    talking_to = None

    def __init__(self, returns: ReturnFeed, room: int,
                 ice_servers: Callable[[], list[RTCIceServer]]) -> None:
        self.returns = returns
        self.room = room
        self._ice_servers = ice_servers
        self._session: JanusSession | None = None
        self.problem: str | None = "not started"  # why guests get no sound back, if so
        self._sound_pc: RTCPeerConnection | None = None
        self._sound: BridgeParticipant | None = None
        self._picture_pc: RTCPeerConnection | None = None
        self._picture: PublisherRelay | None = None
        self._picture_line: ReturnConnection | None = None
        self._guests: dict[str, _GuestLines] = {}
        self._in_room: set[str] = set()  # names with a sound line: asked per audio frame
        returns.heard_elsewhere = self._in_room.__contains__
        self._tag = secrets.token_hex(3)  # tells this studio's picture from another's
        self._lock = asyncio.Lock()  # a Janus that comes and goes quickly: one change at a time
        self._held: set[str] = set()  # guest names the operator put on hold
        self._hold_lock = asyncio.Lock()  # holds applied in the order they were asked for

    # -- the studio's own participants -------------------------------------------------

    async def start(self, session: JanusSession) -> None:
        """Join the AudioBridge room with the studio's sound, publish the grid. A Janus
        without the AudioBridge room is reported (guests are still recorded)."""
        async with self._lock:
            await self._leave()
            await self._join(session)

    async def _join(self, session: JanusSession) -> None:
        self._session = session
        settings = self.returns.settings
        if not settings.enabled:
            self.problem = "the return is off"
            return
        try:
            if settings.audio:
                await check_bridge(session, self.room)
                await self._join_sound(session)
            if settings.video != "off":
                await self._publish_picture(session)
            self.problem = None
        except (JanusError, OSError, ValueError) as exc:
            self.problem = str(exc)
            log.error("guests get no return through the SFU: %s", exc)

    def _new_pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers()))

    async def _join_sound(self, session: JanusSession) -> None:
        pc = self._sound_pc = self._new_pc()
        self.returns.outgoing(STUDIO_DISPLAY, pc, audio=True, video=False)
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        self._sound = await BridgeParticipant.join(session, self.room, STUDIO_DISPLAY, offer)
        await pc.setRemoteDescription(RTCSessionDescription(self._sound.answer_sdp, "answer"))

    async def _publish_picture(self, session: JanusSession) -> None:
        pc = self._picture_pc = self._new_pc()
        display = f"{RETURN_DISPLAY} {self._tag}"
        self._picture_line = self.returns.outgoing(display, pc, audio=False, video=True)
        await pc.setLocalDescription(await pc.createOffer())
        self._picture = await PublisherRelay.publish(session, self.room, display, pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(self._picture.answer_sdp, "answer"))
        self._update_watching()

    async def stop(self) -> None:
        """Leave both rooms (Janus lost: the handles went with it)."""
        async with self._lock:
            await self._leave()

    async def _leave(self) -> None:
        sound, self._sound = self._sound, None
        picture, self._picture = self._picture, None
        alive = self._session is not None and self._session.lost is None
        if alive and sound is not None:
            await sound.leave()
        if alive and picture is not None:
            await picture.leave()
        for pc in (self._sound_pc, self._picture_pc):
            if pc is not None:
                await pc.close()
        self._sound_pc = self._picture_pc = None
        self._picture_line = None
        self._session = None
        self.problem = "not started"

    # -- a guest's lines -----------------------------------------------------------------

    def _live_session(self) -> JanusSession:
        session = self._session
        if session is None or session.lost is not None:
            raise ReturnRefused(503, "the studio's media server cannot be reached")
        return session

    async def guest_sound(self, sid: str, name: str, offer_sdp: str) -> str:
        """`name`'s page joins the AudioBridge room: Janus's answer to its offer."""
        if not self.returns.settings.enabled or not self.returns.settings.audio:
            raise ReturnRefused(409, "the studio sends no sound back")
        if self._sound is None and self.problem:
            raise ReturnRefused(503, f"the studio cannot send its sound back: {self.problem}")
        session = self._live_session()
        lines = self._guests.setdefault(sid, _GuestLines(name))
        if lines.sound is not None:  # the page opened a new one: the old one goes
            old, lines.sound = lines.sound, None
            await old.leave()
        held = name in self._held
        try:
            lines.sound = await BridgeParticipant.join(
                session, hold_room(self.room) if held else self.room, name, offer_sdp, muted=held)
            lines.sound.muted = held
        except JanusError as exc:
            raise ReturnRefused(503, f"the studio's media server refused the sound: {exc}") from None
        self._in_room.add(name)
        self.returns.voice_went_elsewhere(name)
        log.info("guest %r hears the room through the audio bridge", name)
        return lines.sound.answer_sdp

    async def guest_picture_offer(self, sid: str, name: str) -> str:
        """Janus's offer of the studio's picture for `name`'s page."""
        if self._picture is None:
            raise ReturnRefused(404, "the studio sends no picture")
        session = self._live_session()
        lines = self._guests.setdefault(sid, _GuestLines(name))
        await self._drop_picture(lines)
        try:
            lines.picture, offer = await join_as_subscriber(session, self.room, self._picture.feed)
        except JanusError as exc:
            raise ReturnRefused(503, f"the studio's media server refused the picture: {exc}") from None
        return offer

    async def guest_picture_answer(self, sid: str, answer_sdp: str) -> None:
        lines = self._guests.get(sid)
        if lines is None or lines.picture is None:
            raise ReturnRefused(404, "no picture was offered to this guest")
        try:
            await start_subscriber(lines.picture, answer_sdp)
        except JanusError as exc:
            raise ReturnRefused(400, f"the studio's media server refused the answer: {exc}") from None
        lines.picture_started = True
        self._update_watching()
        if lines.name in self._held:
            spawn(self._apply_hold(lines.name))

    async def guest_gone(self, sid: str) -> None:
        """That WHIP session ended: its lines in both rooms go."""
        lines = self._guests.pop(sid, None)
        if lines is None:
            return
        # In place: the return feed holds this set's own __contains__.
        self._in_room.intersection_update(g.name for g in self._guests.values() if g.sound is not None)
        if lines.sound is not None and self._alive():
            await lines.sound.leave()
        await self._drop_picture(lines)

    async def _drop_picture(self, lines: _GuestLines) -> None:
        handle, lines.picture = lines.picture, None
        lines.picture_started = False
        self._update_watching()
        if handle is not None and self._alive():
            try:
                await handle.request({"request": "leave"}, timeout=5)
            except JanusError as exc:
                log.debug("leaving the picture subscription: %s", exc)
            await handle.detach()

    def _alive(self) -> bool:
        return self._session is not None and self._session.lost is None

    def _update_watching(self) -> None:
        if self._picture_line is not None:
            watched = any(lines.picture_started for lines in self._guests.values())
            self.returns.set_watching(self._picture_line, watched)

    # -- the operator's hold -------------------------------------------------------------

    def held(self, name: str) -> bool:
        return name in self._held

    def hold(self, name: str, on: bool) -> None:
        """On hold `name` hears nothing, its picture of the show stops and nobody hears it
        (its recording goes on). Applied through Janus in the background, in order."""
        if on:
            self._held.add(name)
        else:
            self._held.discard(name)
        spawn(self._apply_hold(name))

    async def _apply_hold(self, name: str) -> None:
        async with self._hold_lock:
            on = name in self._held
            for lines in [g for g in self._guests.values() if g.name == name]:
                try:
                    if lines.sound is not None and lines.sound.muted != on and self._alive():
                        await lines.sound.move(hold_room(self.room) if on else self.room, muted=on)
                    if lines.picture is not None and lines.picture_started and lines.picture_paused != on:
                        await lines.picture.request({"request": "pause" if on else "start"}, timeout=5)
                        lines.picture_paused = on
                except JanusError as exc:
                    log.warning("guest %r: hold %s failed: %s", name, "on" if on else "off", exc)

    # -- what the operator sees ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "through": "janus", "problem": self.problem,
            "sound_joined": self._sound is not None,
            "picture_feed": self._picture.feed if self._picture else None,
            "guests_hearing": sorted(g.name for g in self._guests.values() if g.sound is not None),
            "guests_watching": sorted(g.name for g in self._guests.values() if g.picture_started),
            "held": sorted(self._held),
        }
