"""The link checker: asynchronous, polite, bounded, and safe to point at the internet.

For each URL: HEAD first; when HEAD is refused or not 2xx, a streamed GET
that reads no body (a multi-gigabyte page costs a few kilobytes). Redirects
are followed by hand, up to a limit, so every hop passes the scheme check and
the connect-time address guard and its permanence is recorded. Each network
operation has a timeout and the whole check a deadline, so a server that
accepts and never answers, or drips its headers a byte a second, costs at
most the deadline.

Politeness: a global limit on checks in flight, a per-host limit (httpx has
none) and a minimum gap between two requests to one host; `Retry-After` on
429/503 pushes that host's next request back, and the check is retried once
if the wait fits in the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from feedsvc import __version__
from feedsvc.links.guard import (
    AddressPolicy, GuardedBackend, NameNotResolved, RefusedAddress, Resolver, SystemResolver,
)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_CODES = frozenset({301, 308})
BROKEN_CODES = frozenset({404, 410})
BLOCKED_CODES = frozenset({401, 403, 429, 451, 999})
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one URL. status: ok, redirected, broken, blocked or error."""

    url: str
    status: str
    code: int | None
    final_url: str
    permanent_redirect: bool
    error: str | None
    checked_at: datetime
    elapsed_ms: int
    redirects: int = 0

    @property
    def failed(self) -> bool:
        return self.status in ("broken", "error")


@dataclass(frozen=True)
class CheckerConfig:
    user_agent: str
    concurrency: int = 20
    per_host: int = 2
    host_gap: float = 1.0
    timeout: float = 10.0
    deadline: float = 30.0
    max_redirects: int = 10


def user_agent(base_url: str) -> str:
    return f"feedsvc-linkcheck/{__version__} (+{base_url}/links)"


class _HostGate:
    """At most `limit` requests in flight to one host, starting at least `gap` apart."""

    def __init__(self, limit: int, gap: float) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.lock = asyncio.Lock()
        self.gap = gap
        self.next_start = 0.0

    async def wait_turn(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if self.next_start > now:
                await asyncio.sleep(self.next_start - now)
            self.next_start = max(self.next_start, time.monotonic()) + self.gap

    def back_off(self, seconds: float) -> None:
        self.next_start = max(self.next_start, time.monotonic() + seconds)


class _Retry(Exception):
    def __init__(self, wait: float, response_code: int) -> None:
        self.wait = wait
        self.code = response_code


class LinkChecker:
    def __init__(self, config: CheckerConfig, *, allow: Iterable[str] = (),
                 resolver: Resolver | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.config = config
        self.now = now
        self.backend = GuardedBackend(AddressPolicy(allow), resolver or SystemResolver())
        self._gates: dict[str, _HostGate] = {}
        self._clients: dict[tuple[str, str, int | None], httpx.AsyncClient] = {}
        self._global = asyncio.Semaphore(config.concurrency)
        self._ssl = httpx.create_ssl_context()  # loading CA roots costs ~20 ms: once

    def _client(self, url: str) -> httpx.AsyncClient:
        """One small connection pool per origin.

        httpcore's pool scans all its connections for every request, so one
        pool of hundreds of connections makes a large run quadratic; a pool
        per origin holds at most the per-host limit.
        """
        parts = urlsplit(url)
        origin = (parts.scheme, (parts.hostname or "").lower(), parts.port)
        client = self._clients.get(origin)
        if client is None:
            transport = httpx.AsyncHTTPTransport(verify=self._ssl, retries=0)
            # httpx has no public hook for the network backend: swap in a pool that
            # connects through the guard, with the options httpx would use.
            transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
                ssl_context=self._ssl, max_connections=self.config.per_host,
                max_keepalive_connections=self.config.per_host, keepalive_expiry=5.0,
                network_backend=self.backend)
            client = self._clients[origin] = httpx.AsyncClient(
                transport=transport, timeout=httpx.Timeout(self.config.timeout),
                follow_redirects=False, trust_env=False,
                headers={"User-Agent": self.config.user_agent, "Accept": "text/html,*/*;q=0.8"})
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> LinkChecker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self.config.per_host, self.config.host_gap)
        return gate

    async def check_many(self, urls: Iterable[str]) -> AsyncIterator[CheckResult]:
        """Check every URL (concurrently, politely); yield results as they finish."""
        tasks = [asyncio.create_task(self.check(url)) for url in dict.fromkeys(urls)]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()

    async def check(self, url: str) -> CheckResult:
        started = time.monotonic()
        checked_at = self.now()

        def result(status: str, code: int | None, final: str, permanent: bool = False,
                   error: str | None = None, redirects: int = 0) -> CheckResult:
            return CheckResult(url, status, code, final, permanent, error, checked_at,
                               int((time.monotonic() - started) * 1000), redirects)

        async with self._global:
            try:
                async with asyncio.timeout(self.config.deadline):
                    try:
                        return await self._follow(url, result)
                    except _Retry as retry:
                        remaining = self.config.deadline - (time.monotonic() - started)
                        if retry.wait >= remaining - 1:
                            raise
                        return await self._follow(url, result)
            except _Retry as retry:
                status = "blocked" if retry.code == 429 else "error"
                return result(status, retry.code, url, error=f"HTTP {retry.code}; asked to retry later")
            except TimeoutError:
                return result("error", None, url,
                              error=f"no complete answer within {self.config.deadline:g} s")

    async def _follow(self, url: str, result) -> CheckResult:
        current, seen, permanent = url, {url}, False
        for hop in range(self.config.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return result("broken", None, current, permanent,
                              f"redirected to {current!r}, which is not an http(s) URL", hop)
            try:
                code, location = await self._request(current, parts.hostname)
            except RefusedAddress as exc:
                return result("blocked", None, current, permanent, str(exc), hop)
            except NameNotResolved as exc:
                return result("broken", None, current, permanent, str(exc), hop)
            except httpx.TimeoutException as exc:
                return result("error", None, current, permanent, f"timed out ({type(exc).__name__})", hop)
            except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                return result("error", None, current, permanent, _describe(exc), hop)
            if code in REDIRECT_CODES and location:
                target = urljoin(current, location.strip())
                permanent = permanent or code in PERMANENT_CODES
                if target in seen:
                    return result("broken", code, target, permanent, "redirect loop", hop + 1)
                seen.add(target)
                current = target
                continue
            if 200 <= code < 300:
                return result("redirected" if hop else "ok", code, current, permanent, None, hop)
            if code in BROKEN_CODES:
                return result("broken", code, current, permanent, f"HTTP {code}", hop)
            if code in BLOCKED_CODES:
                return result("blocked", code, current, permanent, f"HTTP {code}", hop)
            return result("error", code, current, permanent, f"HTTP {code}", hop)
        return result("broken", None, current, permanent,
                      f"more than {self.config.max_redirects} redirects", self.config.max_redirects)

    async def _request(self, url: str, host: str) -> tuple[int, str | None]:
        """HEAD, then a streamed GET that reads no body when HEAD is refused or not 2xx."""
        gate = self._gate(host)
        client = self._client(url)
        async with gate.slots:
            await gate.wait_turn()
            head = await client.head(url)
            code, location = head.status_code, head.headers.get("location")
            if 200 <= code < 300 or (code in REDIRECT_CODES and location):
                return code, location
            await gate.wait_turn()
            async with client.stream("GET", url) as response:
                code, location = response.status_code, response.headers.get("location")
                retry_after = response.headers.get("retry-after")
            if code in (429, 503) and retry_after is not None:
                wait = _retry_after_seconds(retry_after, self.now())
                if wait is not None:
                    gate.back_off(wait)
                    raise _Retry(wait, code)
            return code, location


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _describe(exc: Exception) -> str:
    """A readable reason: the operating system's words when a socket error is underneath."""
    root: BaseException = exc
    while (root.__cause__ or root.__context__) is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    if isinstance(root, OSError) and root.strerror:
        detail = root.strerror.lower()
    else:
        detail = str(exc).strip()
        if not detail or detail == type(exc).__name__:
            detail = str(root).strip() or type(root).__name__
    return f"{type(exc).__name__}: {detail}"[:300]


async def check_urls(urls: Iterable[str], config: CheckerConfig, *, allow: Iterable[str] = (),
                     resolver: Resolver | None = None,
                     on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check URLs with a fresh checker; call on_result as each finishes."""
    results: list[CheckResult] = []
    async with LinkChecker(config, allow=allow, resolver=resolver) as checker:
        async for checked in checker.check_many(urls):
            results.append(checked)
            if on_result is not None:
                on_result(checked)
    return results
