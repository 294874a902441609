"""The SSRF guard: the link checker connects only to public addresses.

Article URLs come from editors and from upstream feeds, and redirects come
from anyone, so a URL or a redirect could aim the checker at the machine it
runs on or at the private network behind it. The guard resolves each host
name itself and checks every address *at connect time, for every
connection*, then connects to the address it checked (so DNS cannot answer
differently in between). Classification is pure data, tested as such.
Non-public ranges are allowed only through an explicit setting
(FEEDSVC_LINKCHECK_ALLOW), which tests and benchmarks use for loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Protocol

import httpcore
from httpcore._backends.base import SOCKET_OPTION

from feedsvc.links.streams import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The guard refused to connect (the address is not public, or not http/https)."""


class NameNotResolved(Exception):
    """The host name does not resolve (NXDOMAIN or no address)."""


def classify_address(address: IPAddress) -> str | None:
    """Why this address must not be contacted, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            inner = classify_address(address.ipv4_mapped)
            return f"an IPv4-mapped {inner} address" if inner else None
        if address.sixtofour is not None:
            inner = classify_address(address.sixtofour)
            if inner:
                return f"a 6to4 address embedding a {inner} address"
        if address.teredo is not None:
            return "a Teredo tunnel address"
    for test, reason in (
        ("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
        ("is_link_local", "link-local"), ("is_multicast", "multicast"),
        ("is_private", "private"), ("is_reserved", "reserved"),
    ):
        if getattr(address, test):
            if reason == "private" and isinstance(address, ipaddress.IPv6Address) \
                    and address in ipaddress.ip_network("fc00::/7"):
                return "unique-local"
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


class AddressPolicy:
    """Public addresses, plus whatever the operator explicitly allows."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allowed_hosts: set[str] = set()
        self.allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in allow:
            try:
                self.allowed_networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.allowed_hosts.add(item.lower().rstrip("."))

    def check(self, host: str, address: str) -> None:
        """Raise RefusedAddress unless `host` may be reached at `address`."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if host.lower().rstrip(".") in self.allowed_hosts:
            return
        if any(ip in network for network in self.allowed_networks):
            return
        reason = classify_address(ip)
        if reason:
            raise RefusedAddress(f"refused to connect to {host} at {address}: the address is {reason}")


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameNotResolved(f"{host} does not resolve ({exc.strerror})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise NameNotResolved(f"{host} has no address")
        return addresses


class StaticResolver:
    """Names to addresses from a table: for tests and benchmarks, which must stay on loopback."""

    def __init__(self, table: Mapping[str, list[str] | str]) -> None:
        self.table = {name.lower(): [v] if isinstance(v, str) else list(v) for name, v in table.items()}

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            return self.table[host.lower()]
        except KeyError:
            raise NameNotResolved(f"{host} does not resolve (NXDOMAIN)") from None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks, then connects to the checked address."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or AsyncioBackend()
        self.connections = 0

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        if _is_ip_literal(host):
            addresses = [host.strip("[]")]
        else:
            try:
                addresses = await asyncio.wait_for(self.resolver.resolve(host, port), timeout)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        allowed: list[str] = []
        refusals: list[str] = []
        for address in addresses:
            try:
                self.policy.check(host, address)
                allowed.append(address)
            except RefusedAddress as exc:
                refusals.append(str(exc))
        if not allowed:
            raise RefusedAddress("; ".join(refusals))
        error: Exception | None = None
        for address in allowed:
            try:
                stream = await self.inner.connect_tcp(address, port, timeout=timeout,
                                                      local_address=local_address,
                                                      socket_options=socket_options)
                self.connections += 1
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error if error is not None else RefusedAddress(f"{host}: no address to connect to")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("unix sockets are never contacted")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
