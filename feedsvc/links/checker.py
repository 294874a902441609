"""The link checker: asynchronous, polite, bounded, and safe to point at the internet.

For each URL: HEAD first; when HEAD is refused or not 2xx, a streamed GET
that reads no body (a multi-gigabyte page costs a few kilobytes). Redirects
are followed by hand, up to a limit, so every hop passes the URL check
(feedsvc.links.targets) and the connect-time address guard and its
permanence is recorded. Each network operation has a timeout and the whole
check a deadline, so a server that accepts and never answers, or drips its
headers a byte a second, costs at most the deadline.

Politeness: a global limit on requests in flight, a per-host limit (httpx has
none) and a minimum gap between two requests to one host. Waiting for those
is queueing, not the site's slowness, so it never counts against a URL's
deadline: the deadline measures network time only. The run as a whole has a
time budget instead: a URL whose turn at its host would come after the
budget, or whose host asked us (`Retry-After`) to wait past it, is
*deferred*: not checked this run, rescheduled, and never a failure.
A `Retry-After` on 429/503 is waited for and the URL retried once when the
wait fits in the budget; a host that asks this of several URLs in one run
is left alone for the rest of the run.

Nothing a site sends can end a run: every exception, of any type, raised
while checking one URL becomes that URL's result.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol, cast

import httpcore
import httpx

from feedsvc import __version__
from feedsvc.links.guard import (
    AddressPolicy,
    GuardedBackend,
    NameNotResolved,
    RefusedAddress,
    Resolver,
    SystemResolver,
)
from feedsvc.links.hosts import host_of
from feedsvc.links.soft404 import BODY_LIMIT, Page, fingerprint, page_verdict, redirect_verdict
from feedsvc.links.targets import describe_location, parsed_url, redirect_target, url_problem
from feedsvc.links.wire import Origin, Wire
from feedsvc.models import LinkStatus

log = logging.getLogger("feedsvc.links")

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_CODES = frozenset({301, 308})
BROKEN_CODES = frozenset({404, 410})
BLOCKED_CODES = frozenset({401, 403, 429, 451, 999})
MAX_RETRY_AFTER = 120.0  # longest Retry-After waited for inside one run
MAX_RESCHEDULE = 86400.0  # longest Retry-After honoured when rescheduling
HOST_STRIKES = 3  # URLs of one host told to wait past the run before the host is left alone
_JUDGED = frozenset({LinkStatus.OK, LinkStatus.REDIRECTED})  # the answers a soft 404 hides in


class _MakeResult(Protocol):
    """The result-maker `check` hands `_follow`: this URL's time and network use filled in."""

    def __call__(self, status: LinkStatus, code: int | None, final: str, permanent: bool = ...,
                 error: str | None = ..., redirects: int = ...,
                 retry_at: datetime | None = ...) -> CheckResult: ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one URL. status: ok, redirected, broken, blocked, error or deferred.

    `deferred` means not checked this run (politeness did not allow it in time):
    it changes nothing but when the URL is checked next (`retry_at`, when the
    site named a time). elapsed_ms is network time, queueing excluded.
    """

    url: str
    status: LinkStatus
    code: int | None
    final_url: str
    permanent_redirect: bool
    error: str | None
    checked_at: datetime
    elapsed_ms: int
    redirects: int = 0
    retry_at: datetime | None = None

    def __post_init__(self) -> None:
        # Accept the status's text too (stored rows, tests); keep the typed value. (The
        # checker passes the typed value: no enum lookup per result for it.)
        if type(self.status) is not LinkStatus:
            object.__setattr__(self, "status", LinkStatus(self.status))

    @property
    def failed(self) -> bool:
        return self.status.failing

    @property
    def deferred(self) -> bool:
        return self.status is LinkStatus.DEFERRED


@dataclass(frozen=True)
class CheckerConfig:
    user_agent: str
    concurrency: int = 20
    per_host: int = 2
    host_gap: float = 1.0
    timeout: float = 10.0
    deadline: float = 30.0
    max_redirects: int = 10
    run_budget: float = 300.0
    # Ask each host once per run for a URL that cannot exist, to recognise its "not found"
    # page answered with 200 (feedsvc.links.soft404). Off by default for a bare checker
    # (one request per URL, as a plain link checker makes); runs turn it on from the
    # settings (FEEDSVC_LINKCHECK_SOFT404_PROBE). A redirect to a generic page is
    # recognised either way: it costs no request.
    soft_404_probe: bool = False


def user_agent(base_url: str) -> str:
    return f"feedsvc-linkcheck/{__version__} (+{base_url}/links)"


# Added to a sleep until a host's next turn. uvloop's timers count whole milliseconds and
# may wake a little before the time asked for; the turn's loop then found its gap not yet
# over and slept again, several times a request (eight wake-ups a request at a 1 s gap).
TIMER_SLACK = 0.001


class _HostGate:
    """At most `limit` checks in flight to one host, requests starting at least `gap` apart."""

    def __init__(self, host: str, limit: int, gap: float) -> None:
        self.host = host
        self.slots = asyncio.Semaphore(limit)
        self.lock = asyncio.Lock()
        self.gap = gap
        self.next_start = 0.0
        self.strikes = 0
        self.closed_until: datetime | None = None

    def sent(self) -> None:
        """A request to this host just left: the next may start a gap from now at the
        earliest (its turn set that from when the turn came; this is when it went)."""
        self.next_start = max(self.next_start, time.monotonic() + self.gap)

    def strike(self, retry_at: datetime) -> None:
        """The host told one more URL to wait past this run; enough of those close it."""
        self.strikes += 1
        if self.strikes >= HOST_STRIKES:
            self.closed_until = max(self.closed_until or retry_at, retry_at)


class _RunEnd:
    """The end of a run's budget, for every wait inside `with run_end:` (a turn, a slot):
    at that time each such wait raises TimeoutError.

    One timer for the whole run, not one per wait: at concurrency 20 nearly every
    request waits for a global slot, and `asyncio.timeout_at` per wait (a Timeout,
    a timer armed and cancelled, the task's cancel count read twice) was a twentieth
    of the checker's CPU. The end is delivered as `asyncio.timeout` delivers it: the
    waiting task is cancelled, and the cancellation it did not ask for becomes a
    TimeoutError (any other cancellation still cancels)."""

    def __init__(self) -> None:
        self.at: float | None = None  # loop time; fixed by the run's first check
        self.over = False
        self._waiting: dict[asyncio.Task[object], int] = {}  # task -> its cancel count
        self._ended: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, budget: float) -> float:
        """Fix the end `budget` seconds from now (once; later calls keep it)."""
        if self.at is None:
            loop = asyncio.get_running_loop()
            self.at = loop.time() + budget
            self._timer = loop.call_at(self.at, self._end)
        return self.at

    def _end(self) -> None:
        self.over = True
        for task in self._waiting:
            task.cancel()
            self._ended.add(task)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def __enter__(self) -> None:
        if self.over:
            raise TimeoutError
        task = cast("asyncio.Task[object]", asyncio.current_task())  # the checker runs in tasks
        self._waiting[task] = task.cancelling()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: object) -> None:
        task = cast("asyncio.Task[object]", asyncio.current_task())
        cancelling = self._waiting.pop(task)
        if task in self._ended:
            self._ended.discard(task)
            if kind is asyncio.CancelledError and task.uncancel() <= cancelling:
                raise TimeoutError from None


class _Retry(Exception):
    """The site answered 429/503 with a Retry-After: wait `wait` seconds, then ask again."""

    def __init__(self, wait: float, response_code: int, retry_at: datetime, host: str) -> None:
        self.wait = wait
        self.code = response_code
        self.retry_at = retry_at
        self.host = host  # the host that asked (a redirect may have led to it)


class _Deferred(Exception):
    """Politeness does not allow checking this URL within this run."""

    def __init__(self, reason: str, retry_at: datetime | None = None, code: int | None = None) -> None:
        self.reason = reason
        self.retry_at = retry_at
        self.code = code


class _DeadlineExceeded(Exception):
    pass


class _NetworkTime:
    """The deadline of one check, spent only while a request is on the wire.

    Not a timer of its own: `start` gives the moment the deadline falls, and the wire
    bounds each network operation by it as well as by the per-operation timeout (one
    timer per read, not two; a timer and a context manager per request were a tenth of
    the checker's CPU). A timeout that fires at that moment is the deadline's."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.used = 0.0
        self._since = 0.0
        self._deadline = 0.0

    def start(self) -> float:
        """A request begins: when the deadline falls (time.monotonic), if it has not."""
        remaining = self.limit - self.used
        if remaining <= 0:
            raise _DeadlineExceeded
        self._since = time.monotonic()
        return self._since + remaining

    def stop(self) -> None:
        self.used += time.monotonic() - self._since

    @staticmethod
    def spent(deadline: float) -> bool:
        """Whether a timeout that just fired was the deadline (the timer may be a hair early)."""
        return time.monotonic() >= deadline - 0.001

    def __enter__(self) -> float:
        """`with network as deadline:` one request on the wire, its time counted; a
        timeout that fires at the deadline becomes _DeadlineExceeded. A class, not a
        generator: this runs for every request."""
        self._deadline = self.start()
        return self._deadline

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: object) -> None:
        self.stop()
        if kind is not None and issubclass(kind, (httpcore.TimeoutException, httpx.TimeoutException)) \
                and self.spent(self._deadline):
            raise _DeadlineExceeded from None


class LinkChecker:
    def __init__(self, config: CheckerConfig, *, allow: Iterable[str] = (),
                 resolver: Resolver | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.now = now
        self.backend = GuardedBackend(AddressPolicy(allow), resolver or SystemResolver())
        self._gates: dict[str, _HostGate] = {}
        self._global = asyncio.Semaphore(config.concurrency)
        # The global slots' use: requests in flight, and their time integrated (slot
        # seconds) up to `_counted_at`: a shared run learns from it whether the hosts it
        # holds keep this checker busy (feedsvc.links.shared).
        self._in_flight = 0
        self._slot_seconds = 0.0
        self._counted_at = time.monotonic()
        # The request's fixed part: what follows the request line and the Host header.
        self._headers = (b"User-Agent: " + config.user_agent.encode("ascii", "replace")
                         + b"\r\nAccept: text/html,*/*;q=0.8\r\n\r\n")
        # Requests are written and answers read by feedsvc.links.wire (not httpcore's pool):
        # a status and two headers need none of a general client's machinery.
        # The TLS context (loading the CA roots: 20-90 ms) is made at the first https
        # connection, not here: a run's first claims wait for this constructor.
        self._wire = Wire(self.backend, httpx.create_ssl_context, config.timeout)
        self._run_end = _RunEnd()
        self._probes: dict[str, asyncio.Future[Page | None]] = {}
        # A path no site has: the same for every host of a run, new for every run.
        self._probe_path = f"feedsvc-probe-{secrets.token_hex(6)}/{secrets.token_hex(8)}.html"

    async def aclose(self) -> None:
        self._run_end.disarm()
        for probe in self._probes.values():
            probe.cancel()
        await self._wire.aclose()

    async def __aenter__(self) -> LinkChecker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(host, self.config.per_host, self.config.host_gap)
        return gate

    def _run_deadline(self) -> float:
        """The loop time at which this run stops starting requests (fixed at the first check)."""
        return self._run_end.arm(self.config.run_budget)

    def _fits_in_run(self, seconds: float) -> bool:
        return asyncio.get_running_loop().time() + seconds < self._run_deadline()

    async def _queued(self, slots: asyncio.Semaphore, host: str) -> None:
        """Take a slot (the caller releases it), waiting for it at most until the run's
        budget is spent. A plain coroutine, not a context manager: twice per URL, the
        generator and its two awaits were a measurable share of the CPU."""
        if slots.locked():  # a free slot is taken at once, with no wait to register
            try:
                with self._run_end:
                    await slots.acquire()
            except TimeoutError:
                raise _Deferred(self._queue_reason(host)) from None
        else:
            await slots.acquire()

    def _queue_reason(self, host: str) -> str:
        return (f"not checked: its turn at {host} did not come within this run's "
                f"{self.config.run_budget:g} s; checking it next run")

    async def check_many(self, urls: Iterable[str]) -> AsyncIterator[CheckResult]:
        """Check every URL (concurrently, politely); yield results as they finish.

        A queue per host with at most the per-host limit of runners, not a task per URL
        waiting on the host's semaphore: 100,000 URLs make a few thousand tasks, not
        100,000 (the tasks, their timers and wake-ups were a large share of the CPU)."""
        self._run_deadline()
        by_host: dict[str, list[str]] = {}
        for url in dict.fromkeys(urls):
            by_host.setdefault(host_of(url), []).append(url)
        async for result in self._run_queues(list(by_host.values())):
            yield result

    async def check_host(self, urls: Iterable[str],
                         stop: Callable[[], bool] | None = None) -> AsyncIterator[CheckResult]:
        """Check URLs of one host, at most the per-host limit at a time; yield results as
        they finish: how a shared run (feedsvc.links.shared) checks a claimed host. Once
        `stop()` is true no further URL is started (the ones in flight finish): a shared
        run hands the rest of the host to another checker that way."""
        self._run_deadline()
        async for result in self._run_queues([list(dict.fromkeys(urls))], stop):
            yield result

    async def _run_queues(self, queues: list[list[str]],
                          stop: Callable[[], bool] | None = None) -> AsyncIterator[CheckResult]:
        done: asyncio.Queue[CheckResult | None] = asyncio.Queue()

        async def judged(found: CheckResult, network: _NetworkTime) -> None:
            await done.put(await self._judge(found, network))

        async def runner(queue: list[str]) -> None:
            # A 2xx whose judging waits for the host's soft-404 probe (its first answers,
            # while the probe's two requests take one of the host's slots) is judged on
            # the side, and the runner goes on: waiting, both runners of a host left the
            # other slot idle for the probe's two round trips, at every host's start.
            later: list[asyncio.Task[None]] = []
            try:
                while queue and (stop is None or not stop()):
                    found, network = await self._look(queue.pop())
                    if self._probe_pending(found):
                        later.append(asyncio.create_task(judged(found, network)))
                    else:
                        await done.put(await self._judge(found, network))
                if later:
                    await asyncio.gather(*later)
            finally:
                for task in later:
                    task.cancel()
                done.put_nowait(None)

        runners = []
        for queue in queues:
            queue.reverse()  # pop() from the end: first URL first
            runners += [asyncio.create_task(runner(queue))
                        for _ in range(min(self.config.per_host, len(queue)))]
        try:
            finished = 0
            while finished < len(runners):
                result = await done.get()
                if result is None:
                    finished += 1
                else:
                    yield result
            for task in runners:
                task.result()  # a runner can only fail by cancellation: surface it
        finally:
            for task in runners:
                task.cancel()

    def hold_off(self, host: str, not_before: datetime | None) -> None:
        """Ask `host` nothing before `not_before` (the previous holder's gap or Retry-After)."""
        if not_before is None:
            return
        wait = (not_before - self.now()).total_seconds()
        if wait > 0:
            gate = self._gate(host)
            gate.next_start = max(gate.next_start, time.monotonic() + wait)

    def let_go(self, host: str) -> None:
        """This checker is done with `host` for now (a shared run released it): close its
        idle connections."""
        self._wire.close_idle(host)

    def next_allowed(self, host: str) -> datetime | None:
        """When the next checker may ask `host` something: after the gap that follows this
        checker's last request, or the time the host asked us to come back; None: at once."""
        gate = self._gates.get(host)
        if gate is None:
            return None
        if gate.closed_until is not None:
            return gate.closed_until
        wait = gate.next_start - time.monotonic()
        return self.now() + timedelta(seconds=wait) if wait > 0 else None

    async def check(self, url: str) -> CheckResult:
        """Check one URL. Never raises (short of cancellation): every failure is a result."""
        found, network = await self._look(url)
        return await self._judge(found, network)

    async def _look(self, url: str) -> tuple[CheckResult, _NetworkTime]:
        """What the URL answers, redirects followed, before the soft-404 judgement; and the
        check's network time, which the judgement's own request goes on spending."""
        network = _NetworkTime(self.config.deadline)
        return await self._answer(url, self.now(), network), network

    async def _answer(self, url: str, checked_at: datetime, network: _NetworkTime) -> CheckResult:
        """`_look`'s answer: every failure, of any type, is a result."""
        def result(status: LinkStatus, code: int | None, final: str, permanent: bool = False,
                   error: str | None = None, redirects: int = 0,
                   retry_at: datetime | None = None) -> CheckResult:
            return CheckResult(url, status, code, final, permanent, error, checked_at,
                               int(network.used * 1000), redirects, retry_at)

        try:
            try:
                try:
                    found = await self._follow(url, result, network)
                except _Retry as retry:
                    if retry.wait > MAX_RETRY_AFTER or not self._fits_in_run(retry.wait + 1):
                        raise
                    await asyncio.sleep(retry.wait)  # asked to: queueing, not network time
                    found = await self._follow(url, result, network)
                return found
            except _Retry as retry:
                self._gate(retry.host).strike(retry.retry_at)
                asked = f"HTTP {retry.code}; asked to wait {retry.wait:g} s, past the end of this run"
                if retry.code == 429:
                    return result(LinkStatus.BLOCKED, retry.code, url, error=asked, retry_at=retry.retry_at)
                return result(LinkStatus.DEFERRED, retry.code, url, error=f"{asked}; checking it then",
                              retry_at=retry.retry_at)
            except _Deferred as deferred:
                return result(LinkStatus.DEFERRED, deferred.code, url, error=deferred.reason,
                              retry_at=deferred.retry_at)
            except _DeadlineExceeded:
                return result(LinkStatus.ERROR, None, url,
                              error=f"no complete answer within {self.config.deadline:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the per-URL boundary: nothing escapes
            log.warning("link check of %s failed unexpectedly: %r", url[:300], exc)
            try:
                return result(LinkStatus.ERROR, None, url, error=f"check failed: {_describe(exc)}")
            except Exception:  # noqa: BLE001 - even describing it failed
                return CheckResult(url, LinkStatus.ERROR, None, url, False,
                                   f"check failed: {type(exc).__name__}", checked_at, 0)

    def _probe_pending(self, found: CheckResult) -> bool:
        """Whether judging `found` would wait for its host's probe, which is started here if
        it was not: the first 2xx of a host asks for it."""
        if found.status not in _JUDGED or not self.config.soft_404_probe:
            return False
        return not self._probe_task(found.url).done()

    async def _judge(self, found: CheckResult, network: _NetworkTime) -> CheckResult:
        """A page that answered 2xx, looked at again for the two shapes of a soft 404
        (feedsvc.links.soft404). Anything that goes wrong while looking leaves the
        answer as it was: a soft 404 is only ever called on evidence."""
        if found.status not in _JUDGED:
            return found
        try:
            return await self._soft_404(found, network)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - judging must never fail a check
            log.warning("soft-404 judgement of %s failed: %r", found.url[:300], exc)
            return found

    async def _soft_404(self, found: CheckResult, network: _NetworkTime) -> CheckResult:
        probe = await self._probe(found.url) if self.config.soft_404_probe else None
        reason = None
        if found.redirects:
            reason = redirect_verdict(found.url, found.final_url, probe.final_url if probe else None)
        if reason is None and probe is not None and probe.found:
            page = await self._quietly(self._page(found.final_url, network))
            reason = page_verdict(page, probe) if page is not None else None
        if reason is None:
            return found
        return replace(found, status=LinkStatus.SOFT_404, error=reason)

    async def _probe(self, url: str) -> Page | None:
        """The host's answer for a URL that cannot exist: asked once per origin per run
        (every URL of the origin awaits the same task), never counted against any URL."""
        task = self._probe_task(url)
        if task.done():  # every URL after the first: no shield to make
            return task.result()
        return await asyncio.shield(task)

    def _probe_task(self, url: str) -> asyncio.Future[Page | None]:
        """The probe of `url`'s origin, started by the first URL that needs it."""
        target = parsed_url(url)  # parsed already (url_problem): no split per URL
        origin = f"{target.scheme}://{target.netloc.decode('ascii')}"
        task = self._probes.get(origin)
        if task is None:
            task = self._probes[origin] = asyncio.ensure_future(
                self._quietly(self._ask_probe(f"{origin}/{self._probe_path}")))
        return task

    async def _ask_probe(self, probe_url: str) -> Page | None:
        network = _NetworkTime(self.config.deadline)

        def made(status: LinkStatus, code: int | None, final: str, permanent: bool = False,
                 error: str | None = None, redirects: int = 0,
                 retry_at: datetime | None = None) -> CheckResult:
            return CheckResult(probe_url, status, code, final, permanent, error, self.now(), 0,
                               redirects, retry_at)

        answer = await self._follow(probe_url, made, network)
        if answer.code is None:
            return None  # no answer at all: nothing to compare with
        if 200 <= answer.code < 300:
            return await self._page(answer.final_url, network)
        return Page(answer.final_url, answer.code)

    @staticmethod
    async def _quietly(work: Awaitable[Page | None]) -> Page | None:
        """A page, or None when fetching it failed in any way (cancellation aside)."""
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - looking for a soft 404 must never fail a check
            return None

    async def _page(self, url: str, network: _NetworkTime) -> Page:
        """A streamed GET that reads at most the first BODY_LIMIT bytes, to fingerprint."""
        host = parsed_url(url).gate  # the same gate as the HEAD and GET of its checks
        gate = self._gate(host)
        await self._queued(gate.slots, host)
        try:
            self._refuse_if_closed(gate)
            await self._turn(gate)
            try:
                with network as deadline:
                    origin, request = self._request_bytes(url, b"GET")
                    answer = await self._wire.request(origin, request, gate.sent, deadline)
                    body = await self._wire.body(answer, BODY_LIMIT, deadline)
            finally:
                self._global.release()
                self._count_slots(-1)
        finally:
            gate.slots.release()
        declared = answer.header(b"content-length")
        length = int(declared) if declared and declared.isdigit() else None
        return fingerprint(url, answer.status, body, length)

    def _request_bytes(self, url: str, method: bytes) -> tuple[Origin, bytes]:
        """Where to connect and what to write, from httpx's parse of the URL (IDNA hosts,
        percent-encoding: the request line and Host header httpx would send)."""
        parsed = parsed_url(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        origin = (parsed.scheme, parsed.host, port)
        return origin, (method + b" " + parsed.raw_path + b" HTTP/1.1\r\nHost: " + parsed.netloc
                        + b"\r\n" + self._headers)

    async def _follow(self, url: str, result: _MakeResult, network: _NetworkTime) -> CheckResult:
        problem = url_problem(url)
        if problem:
            return result(LinkStatus.BROKEN, None, url, error=f"invalid URL: {problem}")
        current, seen, permanent = url, {url}, False
        for hop in range(self.config.max_redirects + 1):
            host = parsed_url(current).gate  # parsed already: url_problem passed it
            try:
                code, location = await self._request(current, host, network)
            except RefusedAddress as exc:
                return result(LinkStatus.BLOCKED, None, current, permanent, str(exc), hop)
            except NameNotResolved as exc:
                return result(LinkStatus.BROKEN, None, current, permanent, str(exc), hop)
            except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
                return result(LinkStatus.ERROR, None, current, permanent,
                              f"timed out ({type(exc).__name__})", hop)
            except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol,
                    httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
                return result(LinkStatus.ERROR, None, current, permanent, _describe(exc), hop)
            except (ValueError, OverflowError, UnicodeError, OSError) as exc:  # the socket layer
                return result(LinkStatus.ERROR, None, current, permanent, _describe(exc), hop)
            if code in REDIRECT_CODES and location:
                permanent = permanent or code in PERMANENT_CODES
                target, problem = redirect_target(current, location)
                if target is None:
                    return result(LinkStatus.BROKEN, code, current, permanent,
                                  f"redirected to {describe_location(location)}: {problem}", hop + 1)
                if target in seen:
                    return result(LinkStatus.BROKEN, code, target, permanent, "redirect loop", hop + 1)
                seen.add(target)
                current = target
                continue
            if 200 <= code < 300:
                found = LinkStatus.REDIRECTED if hop else LinkStatus.OK
                return result(found, code, current, permanent, None, hop)
            if code in BROKEN_CODES:
                return result(LinkStatus.BROKEN, code, current, permanent, f"HTTP {code}", hop)
            if code in BLOCKED_CODES:
                return result(LinkStatus.BLOCKED, code, current, permanent, f"HTTP {code}", hop)
            return result(LinkStatus.ERROR, code, current, permanent, f"HTTP {code}", hop)
        return result(LinkStatus.BROKEN, None, current, permanent,
                      f"more than {self.config.max_redirects} redirects", self.config.max_redirects)

    async def _request(self, url: str, host: str, network: _NetworkTime) -> tuple[int, str | None]:
        """HEAD, then a streamed GET that reads no body when HEAD is refused or not 2xx."""
        gate = self._gate(host)
        await self._queued(gate.slots, host)
        try:
            code, location, _ = await self._send(gate, "HEAD", url, network)
            if 200 <= code < 300 or (code in REDIRECT_CODES and location):
                return code, location
            code, location, retry_after = await self._send(gate, "GET", url, network)
        finally:
            gate.slots.release()
        if code in (429, 503) and retry_after is not None:
            wait = _retry_after_seconds(retry_after, self.now())
            if wait is not None:
                raise _Retry(wait, code, self.now() + timedelta(seconds=wait), host)
        return code, location

    async def _send(self, gate: _HostGate, method: str, url: str,
                    network: _NetworkTime) -> tuple[int, str | None, str | None]:
        """One request, after waiting (outside the deadline) for the host's and the global turn."""
        self._refuse_if_closed(gate)
        if not self._fits_in_run(0):
            raise _Deferred(self._queue_reason(gate.host))
        await self._turn(gate)
        try:
            self._refuse_if_closed(gate)
            with network as deadline:
                origin, request = self._request_bytes(url, method.encode())
                answer = await self._wire.request(origin, request, gate.sent, deadline)
                if method == "HEAD":
                    self._wire.keep(origin, answer)  # no body by definition: reusable
                else:  # a streamed GET reads no body: closing is what saves the download
                    await self._wire.close(answer.stream)
                return answer.status, answer.header(b"location"), answer.header(b"retry-after")
        finally:
            self._global.release()
            self._count_slots(-1)

    async def _turn(self, gate: _HostGate) -> None:
        """Wait for this host's turn (its gap since the previous request) and take a global
        slot (the caller releases `self._global`).

        The host's lock is held until the global slot is ours and the request
        starts, so two requests to one host never start less than a gap apart,
        however long the global queue made them wait.
        """
        if gate.lock.locked() or self._global.locked() or gate.next_start > time.monotonic():
            try:
                with self._run_end:
                    async with gate.lock:
                        while (delay := gate.next_start - time.monotonic()) > 0:
                            await asyncio.sleep(delay + TIMER_SLACK)
                        await self._global.acquire()
                        self._count_slots(1)
                        gate.next_start = time.monotonic() + gate.gap
            except TimeoutError:
                raise _Deferred(self._queue_reason(gate.host)) from None
        else:  # nothing to wait for: the turn is ours at once, no lock or wait registered
            await self._global.acquire()
            self._count_slots(1)
            gate.next_start = time.monotonic() + gate.gap

    def _count_slots(self, change: int) -> None:
        now = time.monotonic()
        self._slot_seconds += self._in_flight * (now - self._counted_at)
        self._counted_at = now
        self._in_flight += change

    def slot_seconds(self) -> float:
        """How long the global slots have been in use so far, summed over the slots (a
        second of two requests in flight is two): over an interval, divided by the
        interval and the concurrency, the share of this checker's concurrency its hosts
        kept busy."""
        self._count_slots(0)
        return self._slot_seconds

    def _refuse_if_closed(self, gate: _HostGate) -> None:
        if gate.closed_until is not None:
            raise _Deferred(f"not checked: {gate.host} asked {gate.strikes} URLs to wait past "
                            f"this run; checking it after {gate.closed_until:%Y-%m-%d %H:%M:%S} UTC",
                            gate.closed_until)


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    value = value.strip()
    if value.isdigit() and value.isascii():
        seconds = float(value[:12])
    else:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RESCHEDULE)


def _describe(exc: Exception) -> str:
    """A readable reason: the operating system's words when a socket error is underneath."""
    root: BaseException = exc
    for _ in range(20):  # a bounded walk: exception chains can be cycles
        inner = root.__cause__ or root.__context__
        if inner is None:
            break
        root = inner
    if isinstance(root, OSError) and root.strerror:
        detail = root.strerror.lower()
    else:
        detail = str(exc).strip()
        if not detail or detail == type(exc).__name__:
            detail = str(root).strip() or type(root).__name__
    return f"{type(exc).__name__}: {detail}"[:300]

