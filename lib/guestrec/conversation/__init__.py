"""The conversation: what the studio sends back to its guests so they can talk.

Each guest hears every other guest and the studio feed, never itself (mix-minus, Opus),
and sees the guests in one grid picture encoded once for everyone: see return_feed.py.
Inside OBS the studio's sound and the picture may come from OBS (pushed_feed.py,
pushed_picture.py: filled from OBS's threads, read by the mixer and the encoder).
Only the settings are imported here; the media side (aiortc, PyAV) loads with
`conversation.return_feed`, on the engine's loop thread.
"""

from .settings import RETURN_VIDEO_MODES, ReturnSettings, ReturnSettingsError

__all__ = ["RETURN_VIDEO_MODES", "ReturnSettings", "ReturnSettingsError"]
