"""The SSRF guard: address classification as data, and refusal before connecting."""

from __future__ import annotations

import ipaddress

import pytest

from feedsvc.links import eventloop
from feedsvc.links.checker import CheckerConfig, LinkChecker
from feedsvc.links.guard import AddressPolicy, RefusedAddress, StaticResolver, classify_address
from tests.links.conftest import install_routes
from tests.links.servers import LoopbackServer, respond

CLASSIFIED = {
    "8.8.8.8": None, "1.1.1.1": None, "2001:4860:4860::8888": None, "::ffff:8.8.8.8": None,
    "127.0.0.1": "loopback", "127.255.0.9": "loopback", "::1": "loopback",
    "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private",
    "169.254.169.254": "link-local", "fe80::1": "link-local",
    "fc00::1": "unique-local", "fd12:3456::1": "unique-local",
    "0.0.0.0": "unspecified", "::": "unspecified", "224.0.0.1": "multicast", "ff02::1": "multicast",
    "100.64.0.1": "not globally routable",
    "::ffff:127.0.0.1": "an IPv4-mapped loopback address",
    "::ffff:10.0.0.1": "an IPv4-mapped private address",
    "::ffff:169.254.169.254": "an IPv4-mapped link-local address",
    "2002:7f00:1::1": "a 6to4 address embedding a loopback address",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "a Teredo tunnel address",
}


@pytest.mark.parametrize(("address", "reason"), CLASSIFIED.items())
def test_classification(address, reason):
    assert classify_address(ipaddress.ip_address(address)) == reason


def test_policy_allows_only_what_it_is_told():
    default = AddressPolicy()
    with pytest.raises(RefusedAddress, match="loopback"):
        default.check("localhost", "127.0.0.1")
    default.check("example.org", "93.184.215.14")
    narrow = AddressPolicy(["127.0.0.1/32", "intranet.test"])
    narrow.check("site.test", "127.0.0.1")
    with pytest.raises(RefusedAddress, match=r"127\.0\.0\.2"):
        narrow.check("site.test", "127.0.0.2")
    narrow.check("intranet.test", "10.1.2.3")


def test_redirect_to_another_loopback_address_is_refused_before_connecting():
    first = LoopbackServer("127.0.0.1").start()
    second = LoopbackServer("127.0.0.2").start()
    install_routes(second)

    @first.route("/jump")
    async def jump(request, writer):
        await respond(writer, 302, {"Location": second.url("/ok", "second.test")},
                      head=request.method == "HEAD")

    @first.route("/jump-ip")
    async def jump_ip(request, writer):
        await respond(writer, 302, {"Location": second.url("/ok")}, head=request.method == "HEAD")

    resolver = StaticResolver({"site.test": "127.0.0.1", "second.test": "127.0.0.2"})
    config = CheckerConfig("feedsvc-test", host_gap=0, timeout=1, deadline=3)

    async def go():
        async with LinkChecker(config, allow=["127.0.0.1"], resolver=resolver) as checker:
            return [await checker.check(first.url(p, "site.test")) for p in ("/jump", "/jump-ip")]

    try:
        by_name, by_ip = eventloop.run(go())
    finally:
        first.stop()
        second.stop()
    for result in (by_name, by_ip):
        assert result.status == "blocked"
        assert "127.0.0.2: the address is loopback" in result.error
    assert second.connections == 0 and first.connections >= 1


def test_without_an_allow_list_loopback_is_never_contacted():
    server = LoopbackServer("127.0.0.1").start()
    install_routes(server)
    config = CheckerConfig("feedsvc-test", host_gap=0, timeout=1, deadline=3)

    async def go():
        async with LinkChecker(config, resolver=StaticResolver({"site.test": "127.0.0.1"})) as checker:
            return [await checker.check(url) for url in (
                server.url("/ok", "site.test"), server.url("/ok"), f"http://[::1]:{server.port}/ok",
                f"http://[::ffff:127.0.0.1]:{server.port}/ok")]

    try:
        results = eventloop.run(go())
    finally:
        server.stop()
    assert [r.status for r in results] == ["blocked"] * 4
    assert server.connections == 0


def test_non_http_schemes_are_refused():
    config = CheckerConfig("feedsvc-test", host_gap=0, timeout=1, deadline=3)

    async def go():
        async with LinkChecker(config, resolver=StaticResolver({})) as checker:
            return [await checker.check(u) for u in ("file:///etc/passwd", "gopher://x.test/")]

    assert [r.status for r in eventloop.run(go())] == ["broken", "broken"]
