"""Which remote URLs we may talk to, and how hosts are compared.

Two modes. *Local mode* is an instance whose own URL is ``http://127.0.0.1:PORT`` or
``http://localhost:PORT`` (tests, demos, a laptop): it federates with other loopback instances, over
plain http. Every other instance is in *production mode*: peers must use https and every address
their host name resolves to must be public; loopback, private, link-local, multicast and reserved
addresses are refused whatever a peer's documents say (SSRF). A host that resolves to both a public
and a private address is refused: one bad address is enough. IPv6 spellings of an IPv4 address
(mapped, compatible, 6to4, NAT64, Teredo) are judged by the IPv4 address they embed.

Known limit: the name is resolved here and again by the HTTP client, so a DNS answer that changes in
between (rebinding) is not caught; the fetched document must still carry ``id`` == URL.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str], list[str]]


class UnsafeURL(ValueError):
    """A URL we refuse to fetch from or deliver to."""


def normalise_host(netloc_or_host: str, scheme: str = "https") -> str:
    """``Ideas.Example.ORG.:443`` → ``ideas.example.org``; keeps a non-default port (``127.0.0.1:5001``)."""
    value = (netloc_or_host or "").strip().lower()
    if "@" in value:
        raise UnsafeURL(f"a host must not carry user information: {netloc_or_host!r}")
    parts = urlsplit(f"//{value}")
    try:
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"bad port in {netloc_or_host!r}") from error
    hostname = (parts.hostname or "").rstrip(".")
    if not hostname:
        raise UnsafeURL(f"no host in {netloc_or_host!r}")
    if ":" in hostname:
        hostname = f"[{hostname}]"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        return f"{hostname}:{port}"
    return hostname


def host_of(url: str) -> str:
    """The normalised host (with a non-default port) of an absolute http(s) URL."""
    parts = urlsplit(url or "")
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        raise UnsafeURL(f"not an absolute http(s) URL: {url!r}")
    return normalise_host(parts.netloc, parts.scheme)


def same_host(url: str, host: str) -> bool:
    try:
        return host_of(url) == normalise_host(host)
    except UnsafeURL:
        return False


def is_local_mode(own_url: str) -> bool:
    parts = urlsplit(own_url)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_NAMES and parts.port is not None


def _system_resolver(hostname: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(f"cannot resolve {hostname!r}: {error}") from error
    return [info[4][0] for info in infos]


_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: maps the whole IPv4 Internet
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own translator
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, bool] | None:
    """The IPv4 address an IPv6 spelling carries, and whether that IPv4 alone decides.

    A peer may hand us ``2002:0a00:0001::`` (6to4 of 10.0.0.1) or ``64:ff9b::7f00:1`` (NAT64 of
    127.0.0.1): on a network with such gateways they reach the private IPv4 address, so each is judged
    by the address it embeds. The mapped and well-known NAT64 forms *are* their IPv4 address; the
    others must also pass as IPv6 addresses.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, True
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), True
    if ip in _NAT64_LOCAL:
        # RFC 6052 §2.2 /48 layout: 16 bits of IPv4 before the reserved octet u, 16 after.
        value = int(ip)
        high, low = (value >> 64) & 0xFFFF, (value >> 40) & 0xFFFF
        return ipaddress.IPv4Address((high << 16) | low), False
    if ip.sixtofour is not None:
        return ip.sixtofour, False
    if ip.teredo is not None:
        return ip.teredo[1], False  # the client; Python undoes the XOR
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip)), False
    return None


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            ipv4, decides = embedded
            if not _is_public_ip(ipv4):
                return False
            if decides:
                return True
    return _is_public_ip(ip)


def check_url(url: str, *, local_mode: bool, resolve: Resolver | None = None) -> str:
    """Return ``url`` if we may send a request to it, else raise :class:`UnsafeURL`."""
    parts = urlsplit(url or "")
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UnsafeURL(f"not an absolute http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with user information are refused")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise UnsafeURL(f"bad port in {url!r}") from error
    hostname = parts.hostname.rstrip(".")
    if local_mode and hostname in LOOPBACK_NAMES:
        return url  # loopback peers of a loopback instance, over http or https
    if parts.scheme != "https":
        raise UnsafeURL(f"federation requires https: {url!r}")
    addresses = (resolve or _system_resolver)(hostname)
    if not addresses:
        raise UnsafeURL(f"{hostname!r} resolves to no address")
    for address in addresses:
        try:
            public = _is_public(address)
        except ValueError as error:
            raise UnsafeURL(f"{hostname!r} resolves to an unusable address {address!r}") from error
        if not public:
            raise UnsafeURL(f"{hostname!r} resolves to a non-public address ({address})")
    return url
