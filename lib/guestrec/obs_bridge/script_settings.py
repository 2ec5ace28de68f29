"""The script's settings as values: limits, and the move from older settings (pure).

Older versions had one "bitrate_kbps" (video kbps, or Opus kbps in the Opus mode) and two
switches, "auto_record" and "follow_obs_recording"; now there are separate video and
audio bitrates and one "start_recording" choice.
"""

from __future__ import annotations

from typing import Any

from ..common.plan import MAX_VIDEO_KBPS, OPUS_MAX_KBPS, OPUS_MIN_KBPS

MIN_VIDEO_KBPS = 100
LIMITS = {"video_kbps": (MIN_VIDEO_KBPS, MAX_VIDEO_KBPS), "audio_kbps": (OPUS_MIN_KBPS, OPUS_MAX_KBPS)}
LABELS = {"video_kbps": "Video bitrate", "audio_kbps": "Opus bitrate"}
OLD_BOOLS = ("auto_record", "follow_obs_recording")
OLD_KEYS = ("bitrate_kbps", *OLD_BOOLS)
NEW_KEYS = ("video_kbps", "audio_kbps", "start_recording")
# Which settings each record mode uses; the others are hidden in the dialog.
SHOWN_FOR_MODE = {
    "video": {"video_kbps", "codec"},
    "opus": {"audio_kbps"},
    "pcm": set(),
}
MODE_SETTINGS = ("video_kbps", "audio_kbps", "codec")


def migrate(old: dict[str, Any], has_new: dict[str, bool], mode: str) -> dict[str, Any]:
    """New settings made from the old ones the user had set (`old`: only those with a
    user value), never over a new setting the user already has."""
    out: dict[str, Any] = {}
    if "bitrate_kbps" in old:
        key = "audio_kbps" if mode == "opus" else "video_kbps"
        if not has_new.get(key):
            out[key] = int(old["bitrate_kbps"])
    if (set(OLD_BOOLS) & set(old)) and not has_new.get("start_recording"):
        auto = bool(old.get("auto_record", True))  # the old default was on
        follow = bool(old.get("follow_obs_recording", False))
        out["start_recording"] = "join" if auto else "obs" if follow else "manual"
    return out


def shown_settings(mode: str) -> dict[str, bool]:
    """Whether each mode-dependent setting is shown for this record mode."""
    shown = SHOWN_FOR_MODE.get(mode, SHOWN_FOR_MODE["video"])
    return {key: key in shown for key in MODE_SETTINGS}
