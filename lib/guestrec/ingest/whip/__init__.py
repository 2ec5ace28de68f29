"""The WHIP ingest: guests POST an offer (our guest page, FFmpeg, any WHIP publisher)."""

from .http import add_whip_routes
from .offers import FFMPEG_DTLS_HINT, WhipIngest

__all__ = ["FFMPEG_DTLS_HINT", "WhipIngest", "add_whip_routes"]
