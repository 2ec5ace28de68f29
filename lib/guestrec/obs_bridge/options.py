"""The script's options as plain values, and the engine settings they make (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.plan import OPUS_MAX_KBPS, OPUS_MIN_KBPS, RECORD_CODECS, RecordSettingsError
from ..ingest.vdoninja.settings import (
    VdoSettings,
    parse_password,
    parse_streams,
    server_url,
    settings_from_link,
)
from ..server.engine import EngineSettings
from ..server.secrecy import config_dir

RECORD_MODES = ("video", "opus", "pcm")
RETURN_VIDEO_CHOICES = ("grid", "program", "off")  # what guests see
START_MODES = ("join", "obs", "manual")  # when guest recordings start


@dataclass(frozen=True)
class ObsReturnSources:
    """What OBS pushes into the guests' return: its studio track and its program picture."""

    sound: Any = None  # conversation.PushedFeed
    picture: Any = None  # conversation.PushedPicture


@dataclass(frozen=True)
class ScriptOptions:
    """The script's properties, as plain values."""

    record_mode: str = "video"  # video | opus | pcm
    video_kbps: int = 6000
    audio_kbps: int = 128  # Opus, in the audio-only Opus mode
    codec: str = "vp8"
    out_dir: str = ""  # "" = OBS's recording folder
    start_recording: str = "join"  # join | obs (with OBS's recording) | manual
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = ""
    operator_key: str = ""  # the control room's key (made once by the script, like the token)
    invite_only: bool = False  # guests join through their own invites only
    add_to_scene: bool = True
    record_at: str = ""  # studio | guest | both; "" = both in video modes, studio otherwise
    sfu: str = ""  # "janus:http://host:8088/janus"; empty: guests connect to this machine
    sfu_room: int = 1234
    sfu_secret: str = ""
    ice_servers: str = ""  # W3C RTCIceServer JSON; "" = the default public STUN, "[]" = none
    turn_secret: str = ""  # coturn shared secret (install/turn.sh prints it)
    cert_file: str = ""  # own TLS certificate and key (PEM) for remote guests; "" = self-signed
    key_file: str = ""
    # A VDO.Ninja room whose publishers become guests: a pasted link, or room and the rest.
    vdo_link: str = ""
    vdo_room: str = ""
    vdo_password: str = ""  # "" = VDO.Ninja's default, "false" = off
    vdo_server: str = ""  # "" = VDO.Ninja's own handshake server (or the link's)
    vdo_streams: str = ""  # comma separated; "" = every publisher
    vdo_director: bool = False
    # The OBS audio track guests hear as the studio's sound (1..6; 0: none). Guest sources
    # are kept out of it, so no guest hears itself.
    studio_track: int = 6
    return_video: str = "grid"  # grid of the guests | OBS's program | off

    @property
    def auto_record(self) -> bool:
        return self.start_recording == "join"

    @property
    def follow_obs_recording(self) -> bool:
        return self.start_recording == "obs"


def vdo_settings(opts: ScriptOptions) -> VdoSettings | None:
    """The room of the options, None when neither a link nor a room is set. The fields
    set beside a link override what the link says. Raises VdoSettingsError."""
    values: dict[str, Any] = {"director": opts.vdo_director}
    if opts.vdo_room.strip():
        values["room"] = opts.vdo_room.strip()
    if opts.vdo_password.strip():
        values["password"] = parse_password(opts.vdo_password)
    if opts.vdo_server.strip():
        values["server"] = server_url(opts.vdo_server)
    if opts.vdo_streams.strip():
        values["streams"] = parse_streams(opts.vdo_streams)
    if opts.vdo_link.strip():
        return settings_from_link(opts.vdo_link, **values)
    if "room" not in values:
        return None
    return VdoSettings(**values)


def record_value(mode: str, video_kbps: int, audio_kbps: int = 128) -> tuple[int, str | None]:
    """The &record value for a mode and its bitrate, and a warning when the bitrate was clamped."""
    if mode == "pcm":
        return 0, None
    if mode == "opus":
        kbps = audio_kbps
        clamped = min(OPUS_MAX_KBPS, max(OPUS_MIN_KBPS, int(kbps)))
        warning = None
        if clamped != kbps:
            warning = (f"Opus takes {OPUS_MIN_KBPS}..{OPUS_MAX_KBPS} kbps; "
                       f"recording audio at {clamped} kbps instead of {kbps}")
        return -clamped, warning
    if mode != "video":
        raise RecordSettingsError(f"record mode must be one of {', '.join(RECORD_MODES)}, got {mode!r}")
    kbps = video_kbps
    if kbps <= 0:
        raise RecordSettingsError(f"video bitrate must be above 0 kbps, got {kbps}")
    return int(kbps), None


def engine_settings(
    opts: ScriptOptions, default_out_dir: Path, obs_recording: bool = False,
    obs_media: ObsReturnSources | None = None,
) -> tuple[EngineSettings, list[str]]:
    """EngineSettings for the options; raises RecordSettingsError on unusable values.
    `obs_media`: what OBS pushes for the return (its studio track unless that is none)."""
    if opts.return_video not in RETURN_VIDEO_CHOICES:
        raise ValueError(
            f"guests see must be one of {', '.join(RETURN_VIDEO_CHOICES)}, got {opts.return_video!r}")
    if opts.start_recording not in START_MODES:
        raise RecordSettingsError(
            f"start recording must be one of {', '.join(START_MODES)}, got {opts.start_recording!r}")
    value, warning = record_value(opts.record_mode, opts.video_kbps, opts.audio_kbps)
    codec = (opts.codec or "vp8").lower()
    if codec not in RECORD_CODECS:
        raise RecordSettingsError(f"record codec must be one of {', '.join(RECORD_CODECS)}, got {codec!r}")
    out_dir = Path(opts.out_dir).expanduser() if opts.out_dir.strip() else default_out_dir
    cert, key = opts.cert_file.strip(), opts.key_file.strip()
    if bool(cert) != bool(key):
        raise ValueError("the certificate file and the key file go together: set both or neither")
    settings = EngineSettings(
        out_dir=out_dir,
        host=opts.host.strip() or "127.0.0.1",
        port=int(opts.port),
        token=opts.token,
        operator_key=opts.operator_key.strip(),
        invite_only=opts.invite_only,
        # Invites outlive OBS: guests keep the links they were sent.
        invites_file=config_dir() / "invites" / "invites.json",
        record=value,
        codec=codec,
        auto_record=opts.auto_record or (opts.follow_obs_recording and obs_recording),
        record_at=opts.record_at or None,
        sfu=opts.sfu.strip(),
        sfu_room=opts.sfu_room,
        sfu_secret=opts.sfu_secret.strip(),
        cert=Path(cert).expanduser() if cert else None,
        key=Path(key).expanduser() if key else None,
        ice_servers=opts.ice_servers,
        turn_secret=opts.turn_secret.strip(),
        vdo=vdo_settings(opts),
        studio_feed=obs_media.sound if obs_media and opts.studio_track else None,
        return_video=opts.return_video,
        program_picture=obs_media.picture if obs_media else None,
    )
    settings.plan()  # the plan's own checks, with its own clear messages
    settings.ice()  # IceConfigError says which server and what is wrong
    return settings, [warning] if warning else []
