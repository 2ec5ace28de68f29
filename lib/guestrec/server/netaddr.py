"""Which address to put in the links we show: the listen address, or for a server that
listens on every interface, the address other machines reach this one at."""

from __future__ import annotations

import ipaddress
import socket

WILDCARDS = ("", "0.0.0.0", "::")
# Connecting a UDP socket sends nothing: it only asks the kernel which local address
# it would route from. Documentation-range targets, so no real host is involved.
_ROUTE_PROBES = {socket.AF_INET: "192.0.2.1", socket.AF_INET6: "2001:db8::1"}


def is_loopback(host: str) -> bool:
    """True for addresses only this machine reaches; "" (every interface) is not one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def outward_address(family: int = socket.AF_INET) -> str | None:
    """This machine's address on its default route, or None without one."""
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((_ROUTE_PROBES[family], 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if is_loopback(address) else address


def link_host(host: str) -> str:
    """The host part of a link to a server listening on `host` (IPv6 in brackets)."""
    shown = host
    if host in WILDCARDS:
        family = socket.AF_INET6 if host == "::" else socket.AF_INET
        shown = outward_address(family) or outward_address() or "127.0.0.1"
    return f"[{shown}]" if ":" in shown else shown
