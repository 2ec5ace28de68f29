"""The WHIP ingest: guests POST an offer (our guest page, FFmpeg, any WHIP publisher).

    http          the WHIP routes (POST, DELETE, PATCH, OPTIONS), token and resume headers
    offers        WhipIngest: checks an offer, makes the peer connection, answers, admits
    offer_checks  what an offer must have and how much work it may ask of us
"""

from .http import add_whip_routes
from .offers import FFMPEG_DTLS_HINT, WhipIngest

__all__ = ["FFMPEG_DTLS_HINT", "WhipIngest", "add_whip_routes"]
