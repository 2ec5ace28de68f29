"""One guest of a VDO.Ninja room, seen from our side: we view its stream.

The guest (the publisher) always offers. Its first offer holds only a data channel,
`sendChannel`; on it the guest introduces itself (`info`, with its label), and we ask for
audio and video as a scene viewer would, with the plan's bitrates. The guest then
renegotiates over that channel: an offer with its tracks, which we answer there.

The guest is admitted to the guest core once its name is known (or after a short wait,
under its stream id); from then on the core records it and shows it, and this link is
its control channel: in director mode the studio's recording of the guest starts and
stops the guest's own local recording, and the codes it reports are shown in its status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from ...common.background import spawn
from ...common.interfaces import OfferRejected
from ...common.plan import RecordPlan
from ...core import ControlRefused, Guest, GuestRoster
from ...webrtc import sdp
from .crypto import DecryptError, seal, unseal
from .names import RoomKeys

log = logging.getLogger(__name__)

CHANNEL_LABEL = "sendChannel"
INFO_WAIT_S = 3.0  # after the channel opens, how long the guest's label may take
CONNECT_WAIT_S = 30.0  # a connection not up by then is given up
RECORDER_CODES = {
    0: "started", -1: "stopped", -2: "stopping", -3: "failed or unsupported",
    -4: "aborted", -5: "needs Safari's experimental MediaRecorder flag",
}

def recorder_state(code: Any) -> str:
    """Words for a guest's `recorder` report: seconds recorded, or a state code."""
    if isinstance(code, (int, float)) and not isinstance(code, bool):
        if code > 0:
            return f"recording ({int(code)} s)"
        return RECORDER_CODES.get(int(code), f"code {code}")
    return f"code {code!r}"


def _candidates(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = message.get("candidates")
    if isinstance(found, list):
        return [c for c in found if isinstance(c, dict)]
    single = message.get("candidate")
    return [single] if isinstance(single, dict) else []


class RoomPeer:
    """Our viewer side of one guest's peer connection; the guest core's control channel."""

    def __init__(
        self,
        *,
        uuid: str,
        stream_id: str,
        session: str,
        keys: RoomKeys,
        roster: GuestRoster,
        ice_servers: list[RTCIceServer],
        plan: RecordPlan,
        director: bool = False,
        resume_secret: str | None = None,
        wire_stream: str | None = None,
        on_gone: Callable[[RoomPeer], None] | None = None,
    ) -> None:
        self.uuid = uuid
        self.stream_id = stream_id
        self.wire_stream = wire_stream  # as the handshake server knows it
        self.session = session
        self.keys = keys
        self.roster = roster
        self.director = director
        # The core's resume secret of this stream's guest, kept by the room: a guest whose
        # connection dropped and who comes back goes on in the same take.
        self.resume_secret = resume_secret
        self._on_gone = on_gone
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self.channel: Any = None
        self.label: str | None = None
        self.guest: Guest | None = None
        self.gone = False
        self.end_reason = ""  # why the core ended the guest (e.g. its connection was lost)
        self.recorder: str | None = None  # the guest's own recorder, in words
        self.asked_record: bool | None = None
        self._plan = plan  # until admitted: the guest's own config holds it then
        self._on_open: Callable[[], None] | None = None
        self._info_timer: asyncio.TimerHandle | None = None
        self._admitting = False
        self._in_order = asyncio.Lock()  # an offer is answered before the next message is read
        self._watchdog = asyncio.ensure_future(self._connect_watchdog())
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def name(self) -> str:
        return self.guest.name if self.guest else (self.label or self.stream_id)

    # -- offers and candidates, from either path ------------------------------

    async def answer(self, description: dict[str, Any]) -> dict[str, Any]:
        """Apply the guest's offer; our answer, tuned to the record plan."""
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=str(description["sdp"]), type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())  # gathers ICE fully
        return {"type": "answer", "sdp": sdp.tune_answer(self.pc.localDescription.sdp, self._plan)}

    async def add_candidates(self, message: dict[str, Any]) -> None:
        for item in _candidates(message):
            text = str(item.get("candidate") or "")
            if not text:
                continue  # end of candidates
            try:
                body = text.split(":", 1)[1] if text.startswith("candidate:") else text
                candidate = candidate_from_sdp(body)
            except (ValueError, IndexError):
                log.debug("guest %r: unreadable candidate %.80r", self.name, text)
                continue
            if candidate.protocol.lower() != "udp":
                continue  # aiortc has no ICE-TCP
            candidate.sdpMid = item.get("sdpMid")
            candidate.sdpMLineIndex = item.get("sdpMLineIndex")
            try:
                await self.pc.addIceCandidate(candidate)
            except Exception:
                log.debug("guest %r: candidate refused", self.name, exc_info=True)

    # -- the data channel -----------------------------------------------------

    def _on_datachannel(self, channel: Any) -> None:
        if channel.label != CHANNEL_LABEL and self.channel is not None:
            return
        self.channel = channel
        channel.on("message", lambda data: spawn(self._on_channel_message(data)))
        loop = asyncio.get_running_loop()
        self._info_timer = loop.call_later(INFO_WAIT_S, lambda: spawn(self._admit()))
        if self._on_open is not None:
            self._on_open()

    def send(self, message: dict[str, Any]) -> bool:
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return False
        try:
            channel.send(json.dumps(seal(message, self.keys.key)))
        except Exception:
            log.debug("sending to %r failed", self.name, exc_info=True)
            return False
        return True

    async def _on_channel_message(self, data: Any) -> None:
        if not isinstance(data, str):
            return
        try:
            message = unseal(json.loads(data), self.keys.key)
        except (ValueError, DecryptError) as exc:
            log.warning("guest %r: unreadable data-channel message: %s", self.name, exc)
            return
        if not isinstance(message, dict):
            return
        async with self._in_order:
            try:
                await self._handle(message)
            except Exception:
                log.exception("guest %r: handling %s failed", self.name, sorted(message)[:6])

    async def _handle(self, message: dict[str, Any]) -> None:
        info = message.get("info")
        if isinstance(info, dict):
            label = info.get("label")
            if isinstance(label, str) and label.strip() and self.label is None:
                self.label = label.replace("_", " ").strip()
            await self._admit()
        description = message.get("description")
        if isinstance(description, dict) and description.get("type") == "offer":
            answer = await self.answer(description)
            self.send({"description": answer, "session": message.get("session", self.session)})
        if _candidates(message):
            await self.add_candidates(message)
        if "recorder" in message:
            self.recorder = recorder_state(message["recorder"])
            if self.guest is not None:
                self.roster.set_extra_status(self.guest, guest_recorder=self.recorder)
        if message.get("bye"):
            await self.close("left the room")

    async def _admit(self) -> None:
        """Hand the guest to the core (once), then ask it for its media."""
        if self._info_timer is not None:
            self._info_timer.cancel()
            self._info_timer = None
        if self.guest is not None or self.gone or self._admitting:
            return
        self._admitting = True  # the label and the timer may both ask
        try:
            self.roster.check_capacity()
            config = self.roster.current_config()
        except OfferRejected as exc:  # too many guests, or settings that take none
            log.warning("guest stream %s not taken: %s", self.stream_id, exc.reason)
            spawn(self.close(exc.reason))
            return
        name = await self.roster.claim_name(self.label or self.stream_id, self.resume_secret)
        if self.guest is not None or self.gone:  # settled while the name was claimed
            self.roster.release_name(name)
            return
        self._plan = config.plan
        self.guest = self.roster.admit(
            name, self.pc, client="vdoninja", config=config, control=self,
            on_finished=lambda guest, reason: self._finished(reason),
        )
        self.roster.set_extra_status(self.guest, vdo_stream=self.stream_id,
                                     **({"guest_recorder": self.recorder} if self.recorder else {}))
        if self.guest.continuity is not None:
            self.resume_secret = self.guest.continuity.secret
        log.info("guest %r (stream %s) %s", name, self.stream_id,
                 "is back" if self.guest.resumed else "admitted")
        self._request_media()

    def _request_media(self) -> None:
        plan = self._plan
        self.send({
            "audio": True, "video": bool(plan.video), "scene": "0", "guest": False,
            "director": self.director,
        })
        # VDO.Ninja's own viewer requests: the video bitrate and the inbound audio bitrate.
        self.send({"bitrate": plan.video_kbps if plan.video else 0,
                   "audioBitrate": plan.inbound_audio_kbps})

    def talking(self) -> bool:
        """Whether the guest's connection and data channel are still up."""
        return (self.pc.connectionState == "connected" and self.channel is not None
                and self.channel.readyState == "open")

    # -- GuestControl (the core talks to the guest through us) ----------------

    def bind(self, on_open: Callable[[], None], on_message: Callable[[dict[str, Any]], None]) -> None:
        # The app never asks us for our state, so on_message has nothing to carry.
        self._on_open = on_open

    def send_status(self, status: dict[str, Any], force: bool = False) -> None:
        if not self.director:
            return
        recording = bool(status.get("recording"))
        if recording == self.asked_record:
            return  # the guest's recorder reports its state; no need to ask twice
        if self.asked_record is None and not recording:
            return  # nothing was started; nothing to stop
        plan = self.guest.config.plan if self.guest is not None else self._plan  # may be retuned
        kbps = plan.video_kbps if plan.video else 0
        if self.send({"requestVideoRecord": recording, "value": kbps, "UUID": self.uuid}):
            self.asked_record = recording
            log.info("asked guest %r to %s its own recording", self.name,
                     "start" if recording else "stop")

    def send_control(self, message: dict[str, Any]) -> bool:
        """A studio request in VDO.Ninja's own words: the video bitrate, a chat message,
        and, as the room's director (the guest obeys no one else), mute and hang-up."""
        kind = message.get("type")
        if kind == "bitrate":
            return self.send({"bitrate": int(message["kbps"])})
        if kind == "message":
            return self.send({"chat": str(message.get("text") or ""), "overlay": False})
        if kind == "mute" and self.director:
            # The director's remote mute: the guest's volume in the room, 0 or back to full.
            return self.send({"volume": 0 if message.get("mute") else 100, "UUID": self.uuid})
        if kind == "hangup" and self.director:
            return self.send({"hangup": True})
        if kind in ("mute", "hangup"):
            raise ControlRefused(f"a VDO.Ninja guest takes {kind} requests only from the room's "
                                 "director (turn on director mode)")
        raise ControlRefused(f"VDO.Ninja guests have no {kind} request")

    async def end(self, text: str) -> None:
        """The studio ended the session. A VDO.Ninja guest stays in its room (others may be
        watching it there); only the director's hang-up makes it leave."""

    def send_error(self, text: str) -> None:
        log.debug("guest %r: %s (a VDO.Ninja guest has no place to show it)", self.name, text)

    # -- the end --------------------------------------------------------------

    async def _on_state(self) -> None:
        if self.guest is None and self.pc.connectionState in ("failed", "closed"):
            await self.close(f"connection {self.pc.connectionState}")

    async def _connect_watchdog(self) -> None:
        await asyncio.sleep(CONNECT_WAIT_S)
        if self.guest is None and not self.gone:
            log.warning("guest stream %s did not connect within %.0f s", self.stream_id, CONNECT_WAIT_S)
            await self.close("never connected")

    async def close(self, reason: str) -> None:
        """End this guest (it left, or the room is closing)."""
        if self.director and self.asked_record:
            # While the channel is still open: the guest's own recording ends with ours.
            self.send_status({"recording": False})
        if self.guest is not None:
            await self.roster.finish(self.guest, reason)  # calls _finished
            return
        if self.gone:
            return
        log.info("guest stream %s gone before admission: %s", self.stream_id, reason)
        await self.pc.close()
        self._finished()

    def _finished(self, reason: str = "") -> None:
        if self.gone:
            return
        self.gone = True
        self.end_reason = reason
        self._watchdog.cancel()
        if self._info_timer is not None:
            self._info_timer.cancel()
        if self._on_gone is not None:
            self._on_gone(self)
