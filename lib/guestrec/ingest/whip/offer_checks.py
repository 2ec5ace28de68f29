"""What a WHIP offer must have, and how much work it may ask of us.

- DTLS needs the offerer's certificate fingerprint; aiortc would otherwise accept the
  offer and fail later on an assertion, so an offer without one is refused up front.
- Every remote candidate is an address aiortc sends STUN checks to, again and again: an
  offer naming hundreds would have us send thousands of packets wherever it points. Only
  the first few candidates of each media section are kept.
"""

from __future__ import annotations

import logging

from ...common.interfaces import OfferRejected

log = logging.getLogger(__name__)

MAX_CANDIDATES_PER_SECTION = 16


def require_fingerprint(offer_sdp: str) -> None:
    if "\na=fingerprint:" not in "\n" + offer_sdp.replace("\r\n", "\n"):
        raise OfferRejected("the offer has no DTLS fingerprint (a=fingerprint)", 400)


def cap_candidates(offer_sdp: str, per_section: int = MAX_CANDIDATES_PER_SECTION) -> str:
    """The offer with at most `per_section` a=candidate lines in each media section."""
    newline = "\r\n" if "\r\n" in offer_sdp else "\n"
    kept: list[str] = []
    in_section = dropped = 0
    for line in offer_sdp.split(newline):
        if line.startswith("m="):
            in_section = 0
        elif line.startswith("a=candidate:"):
            in_section += 1
            if in_section > per_section:
                dropped += 1
                continue
        kept.append(line)
    if dropped:
        log.info("offer named %d more remote candidates than the %d per section probed; "
                 "they are ignored", dropped, per_section)
    return newline.join(kept)
