"""The address policy: loopback federation only for loopback instances; https and public addresses
for everyone else, whatever a peer's documents say."""

from __future__ import annotations

import pytest

from coopol.federation.urls import UnsafeURL, check_url, host_of, is_local_mode, normalise_host


def resolver(*addresses: str):
    return lambda hostname: list(addresses)


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:5001", True), ("http://localhost:8000", True), ("http://127.0.0.1", False),
    ("https://127.0.0.1:5001", False), ("https://ideas.party.example", False), ("http://10.0.0.5:5000", False),
])
def test_local_mode_is_an_http_loopback_url_with_a_port(url, local):
    assert is_local_mode(url) is local


def test_local_mode_talks_to_loopback_over_http():
    assert check_url("http://127.0.0.1:5002/inbox", local_mode=True)
    assert check_url("http://localhost:5002/inbox", local_mode=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5002/inbox", "http://localhost/inbox", "http://[::1]:80/x"])
def test_production_refuses_loopback(url):
    with pytest.raises(UnsafeURL):
        check_url(url, local_mode=False, resolve=resolver("127.0.0.1"))


def test_production_requires_https():
    with pytest.raises(UnsafeURL, match="https"):
        check_url("http://ally.example/inbox", local_mode=False, resolve=resolver("93.184.216.34"))


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "127.0.0.2",
                                     "::1", "fe80::1", "fc00::1", "0.0.0.0", "224.0.0.1", "::ffff:127.0.0.1",
                                     "100.64.0.1"])
def test_production_refuses_private_link_local_and_reserved_addresses(address):
    with pytest.raises(UnsafeURL, match="non-public"):
        check_url("https://ally.example/inbox", local_mode=False, resolve=resolver(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(UnsafeURL):
        check_url("https://ally.example/inbox", local_mode=False, resolve=resolver("93.184.216.34", "10.0.0.1"))


def test_production_accepts_public_https():
    assert check_url("https://ally.example/inbox", local_mode=False, resolve=resolver("93.184.216.34",
                                                                                      "2606:2800:220:1::1"))


def test_local_instances_apply_production_rules_to_non_loopback_peers():
    with pytest.raises(UnsafeURL):
        check_url("http://ally.example/inbox", local_mode=True, resolve=resolver("93.184.216.34"))
    with pytest.raises(UnsafeURL):
        check_url("https://intranet.example/inbox", local_mode=True, resolve=resolver("192.168.0.10"))


@pytest.mark.parametrize("url", ["ftp://ally.example/", "https://user:pw@ally.example/", "/relative", "",
                                 "https://ally.example:99999/"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(UnsafeURL):
        check_url(url, local_mode=True, resolve=resolver("93.184.216.34"))


@pytest.mark.parametrize("raw, expected", [
    ("Ideas.Example.ORG.", "ideas.example.org"), ("ideas.example.org:443", "ideas.example.org"),
    ("127.0.0.1:5001", "127.0.0.1:5001"), ("LOCALHOST:80", "localhost:80"),
])
def test_hosts_are_normalised(raw, expected):
    assert normalise_host(raw) == expected


def test_host_of_drops_default_ports_per_scheme():
    assert host_of("http://a.example:80/x") == "a.example"
    assert host_of("https://a.example:8443/x") == "a.example:8443"
    assert host_of("http://127.0.0.1:5001/inbox") == "127.0.0.1:5001"


# IPv6 spellings of IPv4 addresses reach the IPv4 address through a gateway (6to4 relay, NAT64
# translator, Teredo): each is judged by the address it embeds.
@pytest.mark.parametrize("address", [
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254 (cloud metadata)
    "::ffff:10.0.0.1", "::ffff:7f00:1",  # IPv4-mapped
    "::10.0.0.1", "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::10.0.0.1", "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b:1:a00:0:100::",  # NAT64 local-use prefix, 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1 (XOR-ed)
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
])
def test_production_refuses_ipv6_spellings_of_private_ipv4(address):
    with pytest.raises(UnsafeURL, match="non-public"):
        check_url("https://ally.example/inbox", local_mode=False, resolve=resolver(address))


@pytest.mark.parametrize("address", ["2002:a00:1::", "64:ff9b::7f00:1", "::ffff:127.0.0.1"])
def test_local_mode_also_refuses_ipv6_spellings_of_private_ipv4(address):
    # Loopback is for loopback *names* of a loopback instance; a peer's DNS answer is never trusted.
    with pytest.raises(UnsafeURL, match="non-public"):
        check_url("https://ally.example/inbox", local_mode=True, resolve=resolver(address))


@pytest.mark.parametrize("url", ["https://[2002:a00:1::]/inbox", "https://[::ffff:10.0.0.1]/inbox",
                                 "https://[64:ff9b::a00:1]/inbox"])
def test_literal_ipv6_spellings_of_private_ipv4_are_refused(url):
    with pytest.raises(UnsafeURL, match="non-public"):
        check_url(url, local_mode=False)


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::8.8.8.8", "::ffff:8.8.8.8"])
def test_ipv6_spellings_of_public_ipv4_are_accepted(address):
    assert check_url("https://ally.example/inbox", local_mode=False, resolve=resolver(address))
