"""Which addresses filegate may send a webhook to, and the one address it connects to.

A webhook URL is chosen by an operator, but the name in it resolves to whatever its DNS
says, at the moment of the attempt. So every attempt resolves the host once, refuses the
whole attempt when *any* resolved address is not a public one (unless the policy allows
loopback or private networks), and then connects to that vetted address itself: there is no
second lookup that could answer differently (DNS rebinding).

Addresses that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64
``64:ff9b::a.b.c.d``, 6to4 ``2002:aabb:ccdd::``) are judged by the address they embed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolves ``(host, port)`` to its addresses, in the order to try them."""


class AddressKind(StrEnum):
    """What kind of network an address belongs to."""

    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


class AddressRefused(Exception):
    """The host resolves to an address the policy does not allow (the message says which)."""


_PRIVATE_NETWORKS = tuple(
    ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED_NETWORK = ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64_NETWORK = ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 or 6to4 address stands for, if it is one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_NETWORK:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def classify(address: IPAddress) -> AddressKind:
    """The kind of ``address``; anything neither public nor named here is RESERVED."""
    if isinstance(address, IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        return classify(inner)
    if address.is_unspecified:
        return AddressKind.UNSPECIFIED
    if address.is_loopback:
        return AddressKind.LOOPBACK
    if address.is_link_local:
        return AddressKind.LINK_LOCAL
    if address.is_multicast:
        return AddressKind.MULTICAST
    if address in _SHARED_NETWORK:
        return AddressKind.SHARED
    if any(address in network for network in _PRIVATE_NETWORKS):
        return AddressKind.PRIVATE
    site_local = isinstance(address, IPv6Address) and address.is_site_local
    if address.is_reserved or site_local or not address.is_global:
        return AddressKind.RESERVED
    return AddressKind.PUBLIC


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, unless loopback or private networks are allowed.

    ``allow_private`` admits RFC 1918 networks, unique-local IPv6 (``fc00::/7``) and shared
    address space (``100.64.0.0/10``). Link-local (where cloud metadata services answer),
    multicast, unspecified and reserved addresses are never allowed.
    """

    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused (e.g. ``"127.0.0.1 is loopback"``), or None."""
        kind = classify(address)
        if kind is AddressKind.PUBLIC:
            return None
        if kind is AddressKind.LOOPBACK and self.allow_loopback:
            return None
        if kind in (AddressKind.PRIVATE, AddressKind.SHARED) and self.allow_private:
            return None
        return f"{_shown(address)} is {kind}"


def _shown(address: IPAddress) -> str:
    inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    return f"{address} (for {inner})" if inner is not None else str(address)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses ``getaddrinfo`` gives for a TCP connection (in a thread, off the loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


async def vetted_address(
    host: str, port: int, policy: AddressPolicy, resolver: Resolver = system_resolver
) -> IPAddress:
    """The address to connect to for ``host`` (a name or an IP literal).

    Raises :class:`AddressRefused` when any address the host resolves to is refused, and
    OSError when it resolves to none.
    """
    literal = is_ip_literal(host)
    addresses = [ip_address(host)] if literal else await resolver(host, port)
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise AddressRefused(why if literal else f"{host} resolves to {why}")
    return addresses[0]


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IP address rather than a name."""
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
