"""Which network addresses watcher may fetch from. Pure.

Feed servers live on the internet. A feed URL, or a redirect, that leads to an address of the
machine itself or of its networks is how a hostile feed reaches what it should not: the cloud
metadata service (``169.254.169.254``), a database on loopback, an admin page on the LAN. So an
address is refused when it is loopback, link-local, private, shared (carrier-grade NAT),
multicast, unspecified or otherwise reserved, unless it is inside a network the operator
allowed (``--allow-addresses`` for every feed, a feed's ``allow_addresses`` for that feed).
An IPv4 address carried inside IPv6 (``::ffff:169.254.169.254``, 6to4, NAT64, Teredo) is judged
as the IPv4 address it carries.

``fetch`` applies this to the address a connection is actually made to (after resolving the
name once, and again to the socket's peer), not to the name in the URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks (a bare address is a network of one).
    Raises ``ValueError`` naming the value that is neither."""
    out = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(out)


def split_networks(text: str) -> tuple[Network, ...]:
    """The comma- or space-separated form of ``--allow-addresses`` and ``WATCHER_ALLOW_ADDRESSES``."""
    return parse_networks(text.replace(",", " ").split())


def is_address(text: str) -> bool:
    """Whether ``text`` is an IP address rather than a name."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def refusal(address: str, allowed: tuple[Network, ...] = ()) -> str | None:
    """Why a connection to ``address`` (an IP, as text) is refused, or ``None`` when it may go."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])   # an IPv6 zone (fe80::1%eth0) names no address
    except ValueError:
        return f"{address!r} is not an IP address"
    carried = _carried_ipv4(ip)
    if any(_inside(candidate, allowed) for candidate in (ip, carried) if candidate is not None):
        return None
    for candidate in (carried, ip):
        if candidate is not None:
            kind = _kind(candidate)
            if kind is not None:
                return kind
    return None


def _inside(ip: Address, networks: tuple[Network, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def _carried_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _kind(ip: Address) -> str | None:
    """The kind of address that is not on the public internet (``None``: a public address)."""
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address (this machine)"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a reserved address"
    return None
