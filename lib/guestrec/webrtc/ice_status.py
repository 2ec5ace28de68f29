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
# A browser that may not use the camera yet (and Firefox or Safari on some pages) hides
# its addresses behind random mDNS names; they resolve only on the guest's own network.
MDNS = "mdns"
MDNS_HINT = ("the guest offered only mDNS (.local) host candidates, which this studio cannot "
             "resolve; the studio still offered its own, which the guest's browser can reach "
             "when it is on the studio's network or the studio has a public address. Otherwise "
             "give the studio STUN or TURN servers (ICE servers setting), so the browser offers "
             "addresses it can reach too")


def is_mdns_name(address: str) -> bool:
    return address.lower().rstrip(".").endswith(".local")


def candidate_types(sdp: str) -> list[str]:
    """The candidate types an SDP offers, e.g. ["host", "srflx"], with "/tcp" for TCP ones;
    host candidates named by mDNS (a .local name, not an address) as "mdns"."""
    found: set[str] = set()
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        fields = line.split()
        try:
            kind = fields[fields.index("typ") + 1]
        except (ValueError, IndexError):
            continue
        if kind == "host" and len(fields) > 4 and is_mdns_name(fields[4]):
            kind = MDNS
        protocol = fields[2].lower() if len(fields) > 2 else "udp"
        found.add(kind if protocol == "udp" else f"{kind}/{protocol}")
    return sorted(found, key=lambda t: (_rank(t.split("/")[0]), t))


def only_mdns(types: list[str]) -> bool:
    """Whether candidate types (as candidate_types gives them) are all mDNS names."""
    return bool(types) and all(t.split("/")[0] == MDNS for t in types)


def ice_hint(offered: dict[str, list[str]]) -> str:
    """Where to look when ICE failed, given the candidate types each side offered."""
    return MDNS_HINT if only_mdns(offered.get("guest", [])) else ICE_HINT


def _rank(kind: str) -> int:
    kind = "host" if kind == MDNS else kind
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
