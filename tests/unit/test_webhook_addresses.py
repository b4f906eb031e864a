"""Where webhooks may go: the URL rules and the address policy, with literal addresses."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

import pytest

from filegate.adapters.webhooks.addresses import (
    AddressKind,
    AddressPolicy,
    AddressRefused,
    IPAddress,
    Resolver,
    classify,
    vetted_address,
)
from filegate.domain.webhooks import check_endpoint_url

STRICT = AddressPolicy()
LOOPBACK_ALLOWED = AddressPolicy(allow_loopback=True)
PRIVATE_ALLOWED = AddressPolicy(allow_private=True)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", AddressKind.PUBLIC),
        ("2606:4700:4700::1111", AddressKind.PUBLIC),
        ("127.0.0.1", AddressKind.LOOPBACK),
        ("127.10.20.30", AddressKind.LOOPBACK),
        ("::1", AddressKind.LOOPBACK),
        ("10.1.2.3", AddressKind.PRIVATE),
        ("172.16.0.1", AddressKind.PRIVATE),
        ("172.31.255.254", AddressKind.PRIVATE),
        ("192.168.1.1", AddressKind.PRIVATE),
        ("fd12:3456::1", AddressKind.PRIVATE),
        ("100.64.0.1", AddressKind.SHARED),
        ("100.127.255.254", AddressKind.SHARED),
        ("169.254.169.254", AddressKind.LINK_LOCAL),
        ("fe80::1", AddressKind.LINK_LOCAL),
        ("224.0.0.1", AddressKind.MULTICAST),
        ("ff02::1", AddressKind.MULTICAST),
        ("0.0.0.0", AddressKind.UNSPECIFIED),
        ("::", AddressKind.UNSPECIFIED),
        ("240.0.0.1", AddressKind.RESERVED),
        ("255.255.255.255", AddressKind.RESERVED),
        ("192.0.2.1", AddressKind.RESERVED),
        ("2001:db8::1", AddressKind.RESERVED),
        ("fec0::1", AddressKind.RESERVED),
        ("::127.0.0.1", AddressKind.RESERVED),
    ],
)
def test_each_address_has_its_kind(address: str, kind: AddressKind) -> None:
    assert classify(ip_address(address)) is kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::ffff:127.0.0.1", AddressKind.LOOPBACK),
        ("::ffff:10.0.0.1", AddressKind.PRIVATE),
        ("::ffff:169.254.169.254", AddressKind.LINK_LOCAL),
        ("::ffff:93.184.215.14", AddressKind.PUBLIC),
        ("64:ff9b::7f00:1", AddressKind.LOOPBACK),
        ("64:ff9b::a9fe:a9fe", AddressKind.LINK_LOCAL),
        ("64:ff9b::c0a8:101", AddressKind.PRIVATE),
        ("64:ff9b::5db8:d70e", AddressKind.PUBLIC),
        ("2002:7f00:1::", AddressKind.LOOPBACK),
        ("2002:a00:1::", AddressKind.PRIVATE),
    ],
)
def test_embedded_ipv4_addresses_are_judged_by_the_address_they_embed(
    address: str, kind: AddressKind
) -> None:
    assert classify(ip_address(address)) is kind


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "127.0.0.1 is loopback"),
        ("::1", "::1 is loopback"),
        ("10.0.0.1", "10.0.0.1 is private"),
        ("100.64.0.1", "100.64.0.1 is shared"),
        ("169.254.169.254", "169.254.169.254 is link-local"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1 (for 127.0.0.1) is loopback"),
        ("64:ff9b::a00:1", "64:ff9b::a00:1 (for 10.0.0.1) is private"),
    ],
)
def test_the_strict_policy_refuses_non_public_addresses_saying_why(address: str, why: str) -> None:
    assert STRICT.refusal(ip_address(address)) == why


def test_the_strict_policy_allows_public_addresses() -> None:
    assert STRICT.refusal(ip_address("93.184.215.14")) is None


def test_allowing_loopback_allows_loopback_only() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert LOOPBACK_ALLOWED.refusal(ip_address(address)) is None
    assert LOOPBACK_ALLOWED.refusal(ip_address("10.0.0.1")) == "10.0.0.1 is private"


def test_allowing_private_networks_allows_them_and_shared_space_only() -> None:
    for address in ("10.0.0.1", "192.168.0.1", "fd00::1", "100.64.0.1"):
        assert PRIVATE_ALLOWED.refusal(ip_address(address)) is None
    assert PRIVATE_ALLOWED.refusal(ip_address("127.0.0.1")) == "127.0.0.1 is loopback"


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "224.0.0.1", "0.0.0.0", "::"])
def test_link_local_multicast_and_unspecified_are_never_allowed(address: str) -> None:
    everything = AddressPolicy(allow_loopback=True, allow_private=True)
    assert everything.refusal(ip_address(address)) is not None


def answering(*addresses: str) -> Resolver:
    """A resolver that answers every name with ``addresses``."""

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [ip_address(address) for address in addresses]

    return resolve


async def test_a_name_is_refused_when_any_of_its_addresses_is_refused() -> None:
    resolver = answering("93.184.215.14", "10.0.0.7")
    with pytest.raises(AddressRefused, match=r"shop\.example resolves to 10\.0\.0\.7 is private"):
        await vetted_address("shop.example", 443, STRICT, resolver)


async def test_a_name_whose_addresses_are_all_allowed_gets_its_first() -> None:
    resolver = answering("93.184.215.14", "2606:4700:4700::1111")
    address = await vetted_address("shop.example", 443, STRICT, resolver)
    assert address == ip_address("93.184.215.14")


async def test_an_ip_literal_is_vetted_without_resolving() -> None:
    resolver = answering("93.184.215.14")  # would be allowed, so it must not be asked
    with pytest.raises(AddressRefused, match=r"^10\.0\.0\.1 is private$"):
        await vetted_address("10.0.0.1", 443, STRICT, resolver)


async def test_a_name_without_addresses_is_an_os_error() -> None:
    with pytest.raises(OSError, match="no address"):
        await vetted_address("shop.example", 443, STRICT, answering())


@pytest.mark.parametrize(
    "url", ["https://shop.example/hooks", "https://shop.example:8443/h?x=1", "https://[::1]/h"]
)
def test_https_urls_with_a_host_are_accepted(url: str) -> None:
    check_endpoint_url(url, allow_http=False)


def test_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="must start with https://"):
        check_endpoint_url("http://shop.example/hooks", allow_http=False)
    check_endpoint_url("http://shop.example/hooks", allow_http=True)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://shop.example/hooks", "must start with"),
        ("shop.example/hooks", "must start with"),
        ("https:///hooks", "names no host"),
        ("https://user:pw@shop.example/hooks", "user name or password"),
        ("https://user@shop.example/hooks", "user name or password"),
        ("https://shop.example/hooks#part", "fragment"),
        ("https://shop.example/hooks#", "fragment"),
        ("https://shop.example:99999/hooks", "invalid port"),
        ("https://shop.example:http/hooks", "invalid port"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_endpoint_url(url, allow_http=True)
