"""The return feed: what the studio sends back so that guests can talk to each other.

    feed = ReturnFeed(ReturnSettings())            # on the loop
    sink = feed.sink_for("Anna")                   # Anna's decoded media comes in here
    feed.connect("Anna", pc, sections)             # before the answer: her return tracks
    feed.hold("Anna", True)                        # she hears (and sees) nothing, nobody hears her
    talk = feed.talkback("Anna"); talk.push(frame) # only Anna hears it
    feed.talkback_to("Anna")                       # only Anna hears the studio's sound, until None
    await feed.close()

Through an SFU, Janus mixes the guests in its audio room (`heard_elsewhere(name)`), and
the studio joins its rooms through `outgoing()`: its sound (with guests not in the room)
and the grid, on a connection the studio offers.

Audio: every 20 ms each listening guest gets its own mix (everyone else plus the studio
feed, never itself), encoded to Opus for that guest alone. Video: one grid of the guests'
pictures, encoded once; every watching guest gets the same packets, and a keyframe
request from any of them is one keyframe for all.

A WHIP guest's voice is taken from its packets as they arrive (voice_tap.py); its
pictures, and the media of guests of other ingests, come through a sink like OBS's.
Nothing of the return reaches a recording or an OBS source: it only leaves through the
guests' senders. A guest whose connection ends is out of every mix at once (a dropped
guest that comes back is heard again as soon as its media flows).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpTransceiver

from ..common.interfaces import GuestSink
from ..webrtc.sdp import MediaSection
from .grid_video import GridVideo
from .mix_minus import MixMinus
from .opus_packets import OpusPackets
from .pcm import TICK_SAMPLES
from .return_audio_track import ReturnAudioTrack
from .return_connection import (
    ReturnConnection,
    prefer_return_codec,
    return_transceivers,
    send_on,
    sending_audio,
)
from .return_input import ReturnInput
from .settings import ReturnSettings
from .shared_video_encoder import SharedVideoEncoder, encoder_status
from .shared_video_track import SharedVideoTrack
from .studio_feed import StudioFeed
from .talkback import Talkback
from .tick_clock import TickClock
from .video_easing import VideoEasing
from .voice_tap import VoiceTap

log = logging.getLogger(__name__)

# Mixer keys no guest name can take (names have no control characters).
STUDIO_KEY = "\0studio"
TALKBACK_KEY = "\0talkback:"
LOAD_CHECK_SECONDS = 1.0


class ReturnFeed:
    def __init__(self, settings: ReturnSettings, recording_lag: Callable[[], float] | None = None) -> None:
        """`recording_lag`: how far behind live the recordings are (s); the grid yields to them."""
        self.settings = settings
        self.heard_elsewhere: Callable[[str], bool] = lambda name: False  # set by an SFU's bridge
        self._recording_lag = recording_lag
        self._easing: VideoEasing | None = None
        self._load_task: asyncio.Task | None = None
        self.mixer = MixMinus()
        self.grid = GridVideo()
        self._clock = TickClock(self._tick)
        self._studio: StudioFeed | Any = None  # StudioFeed, or a PushedFeed
        self._studio_source: Any = None  # the file or the pushed feed it plays
        self._video: SharedVideoEncoder | None = None
        self._listeners: dict[str, tuple[ReturnAudioTrack, OpusPackets]] = {}
        self._connections: list[ReturnConnection] = []
        self._departed: set[str] = set()  # connections ended; their late frames are ignored
        self._voices: dict[str, VoiceTap] = {}  # guests heard from their packets, not a sink
        self.tick_seconds = 0.0  # loop-thread CPU spent mixing and encoding audio
        self._talking_to: str | None = None  # talkback: the studio's sound for this guest alone
        self.configure(settings)

    # -- settings ------------------------------------------------------------------

    def configure(self, settings: ReturnSettings) -> None:
        """New settings; audio and video on/off apply to guests who connect from now on."""
        # The studio's sound: pushed live (an OBS track), else a file played in a loop.
        source = settings.studio_feed if settings.studio_feed is not None else settings.studio_audio
        if self._studio is None or source != self._studio_source:
            if self._studio is not None:
                self._studio.close()
            if settings.studio_feed is not None:
                self._studio = settings.studio_feed
            else:
                self._studio = StudioFeed(settings.studio_audio) if settings.studio_audio else None
            self._studio_source = source
            if self._studio is not None:  # a talkback going on keeps the new sound to its guest
                talking = None if self._talking_to is None else {self._talking_to}
                self.mixer.add_input(STUDIO_KEY, jitter_seconds=0.0, heard_by=talking)
            else:
                self.mixer.remove_input(STUDIO_KEY)
        self.settings = settings

    # -- guests' media in ------------------------------------------------------------

    def sink_for(self, name: str) -> GuestSink | None:
        """The sink that takes `name`'s media in; None while the return is off, or when
        the sink would bring nothing: a guest heard from its packets, with no grid to show
        it in (a sink makes the studio decode the guest's media, headless too)."""
        if not self.settings.enabled:
            return None
        if name in self._voices and self.settings.video != "grid":
            return None
        return ReturnInput(self, name)

    @property
    def listening(self) -> bool:
        return bool(self._listeners)

    def guest_audio(self, name: str, samples: np.ndarray) -> None:
        """Decoded audio from a guest's sink; ignored for a guest heard from its packets."""
        if name not in self._voices and not self.heard_elsewhere(name):
            self._guest_voice(name, samples)

    def _guest_voice(self, name: str, samples: np.ndarray) -> None:
        if name in self._departed:
            return
        if self._listeners:
            self.mixer.push(name, samples)
        else:
            self.mixer.remove_input(name)  # nobody listens: nothing piles up

    def wants_decoded(self, name: str, kind: str) -> bool:
        """Whether `name`'s decoded media would be used now: its sound while anybody
        listens (unless heard from its packets), its picture while anybody watches the grid."""
        if kind == "audio":
            return bool(self._listeners) and name not in self._voices and not self.heard_elsewhere(name)
        return self.settings.video == "grid" and self._video is not None and bool(self._video.watchers)

    def guest_video(self, name: str, frame: av.VideoFrame) -> None:
        if self.settings.video != "grid":
            return  # OBS's program is shown, or nothing: no grid to keep up to date
        if name not in self._departed and self._video is not None and self._video.watchers:
            self.grid.set_frame(name, frame)

    def unheard_by(self, name: str, listeners: set[str]) -> None:
        """`name` is not heard by these guests either: a guest's screen share is not
        played back to the guest who shares it (it hears the shared sound already)."""
        self.mixer.keep_from(name, listeners)

    def voice_went_elsewhere(self, name: str) -> None:
        """`name` now hears and is heard in an SFU's room: out of our mix at once."""
        self.mixer.remove_input(name)

    def guest_gone(self, name: str) -> None:
        self.mixer.remove_input(name)
        self.grid.remove(name)
        self._departed.discard(name)  # nothing more comes from this guest's sink

    # -- guests' connections ---------------------------------------------------------

    def connect(self, name: str, pc: RTCPeerConnection, sections: list[MediaSection]) -> ReturnConnection:
        """Give `name`'s connection its return where its offer asks for one. Call after
        setRemoteDescription, before createAnswer. Every connection is watched: when it
        ends, the guest is out of every mix at once."""
        self._departed.discard(name)
        connection = ReturnConnection(name, pc)
        try:
            self._attach(connection, sections)
        except Exception:  # the guest is still recorded and heard, only without its return
            log.exception("guest %r: the return could not be set up", name)
        return self._follow(connection)

    def _follow(self, connection: ReturnConnection) -> ReturnConnection:
        self._connections.append(connection)

        @connection.pc.on("connectionstatechange")
        def on_state() -> None:
            if connection.pc.connectionState in ("closed", "failed"):
                self._disconnect(connection)

        return connection

    def _audio_track(self, connection: ReturnConnection) -> ReturnAudioTrack:
        connection.audio = ReturnAudioTrack(connection.name, on_start=lambda: self._listen(connection))
        return connection.audio

    def _video_track(self, connection: ReturnConnection, transceiver: RTCRtpTransceiver) -> None:
        encoder = self._video_encoder()
        connection.video = SharedVideoTrack(connection.name, encoder.request_keyframe,
                                            on_start=lambda: self._watch(connection))
        send_on(transceiver, connection.video)
        # aiortc's sender turns a guest's PLI/FIR into its own encoder's keyframe, which
        # packed packets never use: the request goes to the shared encoder instead.
        transceiver.sender._send_keyframe = encoder.request_keyframe

    def _attach(self, connection: ReturnConnection, sections: list[MediaSection]) -> None:
        name, pc, settings = connection.name, connection.pc, self.settings
        where = return_transceivers(pc, sections) if settings.enabled else {}
        if settings.audio and "audio" in where:
            send_on(where["audio"], self._audio_track(connection))
        voice = sending_audio(pc, sections) if settings.audio else None
        if voice is not None:
            connection.voice = VoiceTap(voice.receiver, lambda samples: self._guest_voice(name, samples),
                                        heard=lambda: bool(self._listeners))
            self._voices[name] = connection.voice
        if settings.video != "off" and "video" in where:
            self._video_track(connection, where["video"])

    def outgoing(self, name: str, pc: RTCPeerConnection, audio: bool, video: bool) -> ReturnConnection:
        """Return tracks on a connection the studio offers (before createOffer): the
        studio's sound (its mix leaves out `name` only, so with voices elsewhere it is the
        studio feed alone) and the grid, on sendonly sections. The grid is encoded for it
        only while `set_watching(connection, True)`."""
        connection = ReturnConnection(name, pc, watching=False)
        if audio and self.settings.audio:
            prefer_return_codec(pc.addTransceiver(self._audio_track(connection), direction="sendonly"))
        if video and self.settings.video != "off":
            transceiver = pc.addTransceiver("video")
            prefer_return_codec(transceiver)
            self._video_track(connection, transceiver)
            transceiver.direction = "sendonly"  # nothing comes back on the studio's offer
        return self._follow(connection)

    def set_watching(self, connection: ReturnConnection, on: bool) -> None:
        """Whether the grid is encoded for this connection (someone downstream watches)."""
        connection.watching = on
        video = self._video
        if connection.video is None or video is None or not connection.video_started or connection.closed:
            return
        if on:
            connection.video.restart()  # from the next keyframe (subscribing asks for one)
            self._watch(connection)
        else:
            video.unsubscribe(connection.video)

    def _listen(self, connection: ReturnConnection) -> None:
        """The guest's audio sender started pulling: its mix starts with the next tick."""
        if connection.closed or connection.audio is None:
            return
        self._listeners[connection.name] = (connection.audio, OpusPackets())
        self.mixer.add_output(connection.name)
        self._clock.start()

    def _watch(self, connection: ReturnConnection) -> None:
        connection.video_started = True
        if not connection.closed and connection.video is not None and self._video is not None:
            if not connection.watching:
                return
            self._video.subscribe(connection.video)
            connection.video.set_paused(self.mixer.held(connection.name))
            if self._recording_lag is not None and (self._load_task is None or self._load_task.done()):
                self._load_task = asyncio.ensure_future(self._watch_load())

    async def _watch_load(self) -> None:
        """While anyone watches the grid, its rate follows how well recordings keep up."""
        video = self._video
        if video is None or self._recording_lag is None:
            return
        if self._easing is None:
            self._easing = VideoEasing(self._recording_lag, video.set_fps)
        while self._video is video and video.watchers:
            await asyncio.sleep(LOAD_CHECK_SECONDS)
            try:
                self._easing.check()
            except Exception:  # the grid keeps its rate; the recordings are untouched
                log.exception("return video: checking the recordings' lag failed")

    def _disconnect(self, connection: ReturnConnection) -> None:
        if connection.closed:
            return
        connection.closed = True
        name = connection.name
        if connection.audio is not None:
            if self._listeners.get(name, (None,))[0] is connection.audio:
                del self._listeners[name]
                self.mixer.remove_output(name)
            connection.audio.stop()
        if connection.video is not None:
            if self._video is not None:
                self._video.unsubscribe(connection.video)
            connection.video.stop()
        if connection.voice is not None:
            connection.voice.close()
            if self._voices.get(name) is connection.voice:
                del self._voices[name]
        if connection in self._connections:
            self._connections.remove(connection)
        if not any(c.name == name for c in self._connections):
            self._departed.add(name)  # until its media comes back on a new connection
            self.mixer.remove_input(name)
            self.mixer.keep_from(name, set())  # the next guest of this name is heard as usual
            self.grid.remove(name)
        if not self._listeners:
            self._clock.stop()  # guests' audio is not taken in while nobody listens

    # -- director controls -------------------------------------------------------------

    def hold(self, name: str, on: bool) -> None:
        """On hold, `name` hears nothing, its picture of the others stops, nobody hears it."""
        self.mixer.hold(name, on)
        for connection in self._connections:
            if connection.name == name and connection.video is not None:
                connection.video.set_paused(on)

    def held(self, name: str) -> bool:
        return self.mixer.held(name)

    def talkback(self, name: str) -> Talkback:
        """A private line from the studio to `name` (e.g. a producer's microphone)."""
        key = TALKBACK_KEY + name
        self.mixer.add_input(key, heard_by={name})
        return Talkback(self, key)

    def talkback_to(self, name: str | None) -> bool:
        """Talkback: the studio's sound goes to `name` alone (None: to every guest again).
        False when there is no studio sound to send."""
        self._talking_to = name
        if not self.mixer.has_input(STUDIO_KEY):
            return False
        self.mixer.add_input(STUDIO_KEY, jitter_seconds=0.0, heard_by=None if name is None else {name})
        return True

    @property
    def talking_to(self) -> str | None:
        return self._talking_to

    # -- the audio tick --------------------------------------------------------------

    def _tick(self) -> None:
        started = time.thread_time()
        if self._studio is not None:
            self.mixer.push(STUDIO_KEY, self._studio.read(TICK_SAMPLES))
        for name, samples in self.mixer.tick().items():
            listener = self._listeners.get(name)
            if listener is None:
                continue
            track, encoder = listener
            for packet in encoder.encode(samples):
                track.put(packet)
        self.tick_seconds += time.thread_time() - started

    # -- video -------------------------------------------------------------------------

    def _video_encoder(self) -> SharedVideoEncoder:
        if self._video is None:
            self._video = SharedVideoEncoder(self._picture, asyncio.get_running_loop())
        return self._video

    def _picture(self) -> av.VideoFrame:
        """The encoder thread's next picture: OBS's program or the grid, as set now (both
        640x360, so a change of setting reaches guests already watching)."""
        settings = self.settings
        if settings.video == "program" and settings.program_picture is not None:
            return settings.program_picture.compose()
        return self.grid.compose()

    # -- status and end ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "audio": self.settings.audio, "video": self.settings.video,
            "studio_audio": str(self.settings.studio_audio) if self.settings.studio_audio else None,
            "studio_feed": self._studio.status() if hasattr(self._studio, "status") else None,
            "listeners": sorted(self._listeners),
            "held": sorted(n for n in self._listeners if self.mixer.held(n)),
            "audio_ticks": self._clock.ticks, "audio_ticks_skipped": self._clock.skipped,
            "audio_cpu_seconds": round(self.tick_seconds, 4),
            "audio_packets_dropped": sum(t.dropped for t, _ in self._listeners.values()),
            # How long guests' voices waited in the studio before going out, in ms.
            "audio_held_ms": self.mixer.held_ms(),
            **encoder_status(self._video),
            "grid": self.grid.shown(),
        }

    @property
    def connections(self) -> list[ReturnConnection]:
        return list(self._connections)

    async def close(self) -> None:
        self._clock.stop()
        if self._load_task is not None:
            self._load_task.cancel()
        for connection in list(self._connections):
            self._disconnect(connection)
        if self._video is not None:
            video, self._video = self._video, None
            await asyncio.get_running_loop().run_in_executor(None, video.close)
        if self._studio is not None:
            self._studio.close()
