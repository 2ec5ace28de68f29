"""How a guest's connection crossed the network: the candidate types each side offered
and the candidate pair ICE selected, in words for the status and the log."""

from __future__ import annotations

from typing import Any

# The order candidate types are listed in, most direct first.
_TYPE_ORDER = ("host", "srflx", "prflx", "relay")
PAIR_DIRECT = "direct"
PAIR_STUN = "via STUN"
PAIR_RELAY = "via TURN relay"
ICE_HINT = ("check the ICE servers setting (STUN for home routers, TURN for strict NATs "
            "and networks that block UDP)")


def candidate_types(sdp: str) -> list[str]:
    """The candidate types an SDP offers, e.g. ["host", "srflx"], with "/tcp" for TCP ones."""
    found: set[str] = set()
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        fields = line.split()
        try:
            kind = fields[fields.index("typ") + 1]
        except (ValueError, IndexError):
            continue
        protocol = fields[2].lower() if len(fields) > 2 else "udp"
        found.add(kind if protocol == "udp" else f"{kind}/{protocol}")
    return sorted(found, key=lambda t: (_rank(t.split("/")[0]), t))


def _rank(kind: str) -> int:
    return _TYPE_ORDER.index(kind) if kind in _TYPE_ORDER else len(_TYPE_ORDER)


def describe_types(types: list[str]) -> str:
    return ", ".join(types) if types else "none"


def pair_kind(local_type: str, remote_type: str) -> str:
    """direct / via STUN / via TURN relay, from the two ends of the selected pair."""
    types = {local_type, remote_type}
    if "relay" in types:
        return PAIR_RELAY
    if types & {"srflx", "prflx"}:
        return PAIR_STUN
    return PAIR_DIRECT


def _ice_connection(pc: Any) -> Any:
    """aioice's Connection under a peer connection (all media is bundled on one)."""
    transports = [t.receiver.transport for t in pc.getTransceivers()]
    sctp = getattr(pc, "sctp", None)
    if sctp is not None:
        transports.append(sctp.transport)
    for dtls in transports:
        ice = getattr(dtls, "transport", None)
        connection = getattr(ice, "_connection", None)
        if connection is not None:
            return connection
    return None


def selected_pair(pc: Any) -> dict[str, str] | None:
    """The selected pair of component 1, or None before ICE has nominated one.

    aiortc has no getSelectedCandidatePair; aioice keeps the nominated pairs in
    `Connection._nominated`, read here defensively."""
    connection = _ice_connection(pc)
    nominated = getattr(connection, "_nominated", None) or {}
    pair = nominated.get(1) or next(iter(nominated.values()), None)
    if pair is None:
        return None
    try:
        local, remote = pair.local_candidate, pair.remote_candidate
    except AttributeError:
        return None
    return {
        "kind": pair_kind(local.type, remote.type),
        "local": f"{local.type} {local.host}:{local.port}/{local.transport}",
        "remote": f"{remote.type} {remote.host}:{remote.port}/{remote.transport}",
    }
