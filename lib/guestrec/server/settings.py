"""The engine's settings and the error it raises for the user, shared by the engine and
the modules it starts (the HTTP server, the ingests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.plan import RecordPlan, make_plan
from ..conversation.settings import ReturnSettings
from ..webrtc.ice import IceSettings
from .secrecy import token_problem


class EngineError(RuntimeError):
    """The engine could not do what was asked; the message is meant for the user."""


def check_token(token: str, what: str = "the guest token") -> None:
    problem = token_problem(token, what)
    if problem:
        raise EngineError(problem)


def check_roles(settings: EngineSettings) -> None:
    """A guest's credential must never be the operator's."""
    if settings.operator_key and settings.operator_key == settings.token:
        raise EngineError("the operator key must differ from the guest token")


@dataclass
class EngineSettings:
    out_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = ""  # empty: a random token is made; read it back from Engine.token
    # The control room's key (every operator action needs it); empty: a random one, read
    # back from Engine.operator_key. Invite-only: the guest link's token lets nobody in.
    operator_key: str = ""
    invite_only: bool = False
    invites_file: Path | None = None  # where invites are kept across restarts; None: memory only
    record: str | int | None = None  # the &record value
    pcm: bool = False
    codec: str = "vp8"
    auto_record: bool = True
    record_at: str | None = None  # "studio" | "guest" | "both"; None: both in video modes
    split_minutes: float | None = None
    cert: Path | None = None
    key: Path | None = None
    tls_dir: Path | None = None  # where TLS and DTLS keys are kept; default: the config folder
    sfu: str = ""  # "janus:http://host:8088/janus": guests go through that VideoRoom room
    sfu_room: int | str | None = None
    sfu_secret: str = ""  # Janus's API secret
    max_video_size: tuple[int, int] = (3840, 2160)  # larger guest pictures are refused
    vdo: Any = None  # ingest.vdoninja.VdoSettings: a VDO.Ninja room whose publishers are guests
    ice_servers: str = ""  # W3C RTCIceServer JSON; "" = the default (public STUN), "[]" = none
    turn_secret: str = ""  # coturn shared secret: TURN credentials are minted from it
    # The return feed: guests who ask for it hear each other (never themselves) and see
    # the guests' grid; `studio_audio` is a file looped as the studio's own sound.
    return_audio: bool = True
    return_video: str = "grid"  # "off" | "grid" | "program" (OBS's picture, with program_picture)
    studio_audio: Path | None = None
    studio_feed: Any = None  # the studio's sound pushed live (OBS: one audio track); beats studio_audio
    program_picture: Any = None  # OBS's program picture pushed live (conversation.PushedPicture)

    def plan(self) -> RecordPlan:
        return make_plan(self.record, pcm=self.pcm, codec=self.codec)

    def ice(self) -> IceSettings:
        """The ICE servers setting; raises IceConfigError with a clear message."""
        return IceSettings.from_text(self.ice_servers, self.turn_secret)

    def returns(self) -> ReturnSettings:
        """The return feed's settings; raises ReturnSettingsError with a clear message."""
        return ReturnSettings(audio=self.return_audio, video=self.return_video,
                              studio_audio=self.studio_audio, studio_feed=self.studio_feed,
                              program_picture=self.program_picture)

    def server_key(self) -> tuple[Any, ...]:
        """The settings whose change needs the HTTP server restarted."""
        return (self.host, self.port, self.token, self.cert, self.key)

    def sfu_key(self) -> tuple[Any, ...]:
        """The settings whose change needs the guest server started again."""
        return (self.sfu, self.sfu_room, self.sfu_secret)
