"""Feed polls and subscriber estimates, the way hosted feed services count them.

Every fetch of a subscription feed (`feeds/<topic>.<format>`, 200 or 304) is
a poll. Per feed and UTC day the store keeps:

* how many polls there were (and how many were answered 304);
* what aggregators say in their User-Agent: they poll once for all their
  users and state how many they are ("Feedly/1.0 (...; 42 subscribers; )",
  "Mozilla/5.0 (compatible; inoreader.com; 12 subscribers)", NewsBlur,
  The Old Reader, Feedbin, BazQux, Dreamwidth's "2 readers"...), keeping the
  largest count each one stated that day;
* the distinct other clients, as a hash of address and User-Agent salted with
  a random salt of the day. The salt and the hashes of a day are deleted once
  the day is over, leaving only the count: nothing personal outlives its day.

A feed's estimate for a day is the aggregators' subscribers plus the distinct
other clients. Writes are batched: each web process adds up polls in memory
and writes them in a few statements every FLUSH_SECONDS. A poll the WSGI
table answers costs one deque append (`PollCounter.note`: the raw address,
forwarded-for and User-Agent); the flusher's thread works out the client and
adds it up, keyed by the day of the flush (at most a flush late, across
midnight). The functions take plain values (`Poll`, or a WSGI environ through
`poll_from_environ`), so any WSGI layer can count polls, not only Flask's hooks.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, request

from feedsvc.errors import StoreUnavailable
from feedsvc.models import utcnow
from feedsvc.render.formats import format_names
from feedsvc.store import Store, _utc
from feedsvc.store.hotpath import hot_path_engine
from feedsvc.store.polls import read_poll_days, write_polls
from feedsvc.web.ops.counting import FLUSHER
from feedsvc.web.ops.ratelimit import address_from, client_address

log = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0
# A store that has refused the polls this long is worth a warning (a busy SQLite store
# refuses one write now and then while a build publishes: that is not).
UNWRITTEN_WARNING_S = 60.0
MAX_BUFFERED = 50_000  # entries held while the store is away; beyond that new ones are dropped
ESTIMATE_CACHE_SECONDS = 30.0

_FEED = re.compile(r"^feeds/[a-z0-9-]{1,1700}\.([a-z]{1,10})$")
_COUNT = re.compile(r"(\d{1,9})[ _]+(?:subscribers?|readers?|users?)\b", re.IGNORECASE)
_COUNT_AFTER = re.compile(r"\b(?:subscribers?|users)[ _:=]+(\d{1,9})\b", re.IGNORECASE)
_FEED_ID = re.compile(r"feed-?id[:=]\s*([A-Za-z0-9_-]{1,64})|/site/(\d{1,20})", re.IGNORECASE)
_KNOWN_READERS = ("feedly", "inoreader", "newsblur", "theoldreader", "feedbin", "bazqux",
                  "dreamwidth", "livejournal", "feedspot", "feedwrangler", "bloglines", "newsgator",
                  "feedhq", "miniflux", "netnewswire", "yahoofeedseeker")
_PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9 ._-]{0,60}?)(?:/|\s*\(|\s+-\s|$)")


def is_subscription_feed(path: str) -> bool:
    """`feeds/<topic>.<format>`: what readers subscribe to (not archives, pages, OPML)."""
    match = _FEED.match(path)
    return match is not None and match[1] in format_names()


@functools.lru_cache(maxsize=4096)  # per poll; pollers send few distinct User-Agents
def stated_subscribers(user_agent: str) -> tuple[str, int] | None:
    """(reader, subscribers) when the User-Agent states a subscriber count, else None.

    The reader is the service's name plus the feed id it states, if any: one
    service may poll one URL under several ids, each with its own users."""
    match = _COUNT.search(user_agent) or _COUNT_AFTER.search(user_agent)
    if match is None:
        return None
    lowered = user_agent.lower()
    name = next((known for known in _KNOWN_READERS if known in lowered), None)
    if name is None:
        product = _PRODUCT.match(user_agent.strip())
        name = (product[1].strip().lower() if product else "unknown")[:60]
        if name in ("mozilla", ""):
            name = "unknown"
    feed_id = _FEED_ID.search(user_agent)
    if feed_id is not None:
        name += "#" + (feed_id[1] or feed_id[2])
    return name[:200], int(match[1])


@dataclass(frozen=True, slots=True)
class Poll:
    """One answered fetch: the document path (no leading slash), the status, who asked."""

    path: str
    status: int
    address: str
    user_agent: str


def poll_from_environ(environ: Mapping[str, Any], status: int, trusted_hops: int) -> Poll | None:
    """The poll a WSGI request makes, or None when it is not a subscription-feed fetch."""
    path = str(environ.get("PATH_INFO", "")).lstrip("/")
    if status not in (200, 304) or environ.get("REQUEST_METHOD") not in ("GET", "HEAD") \
            or not is_subscription_feed(path):
        return None
    return Poll(path, status, client_address(environ, trusted_hops),
                str(environ.get("HTTP_USER_AGENT", ""))[:512])


def client_hash(salt: str, address: str, user_agent: str) -> str:
    """A client's identity for one day only: without the day's salt it says nothing."""
    return hashlib.blake2b(f"{address}\n{user_agent}".encode(), key=salt.encode()[:64],
                           digest_size=16).hexdigest()


def _day(now: datetime) -> str:
    return _utc(now).date().isoformat()


_today: tuple[int, str] = (-1, "")


def today() -> str:
    """Today's UTC date as the store keys polls (worked out once a day, not per poll)."""
    global _today
    epoch_day = int(time.time() // 86400)
    if epoch_day != _today[0]:
        _today = (epoch_day, datetime.fromtimestamp(epoch_day * 86400, UTC).date().isoformat())
    return _today[1]


@dataclass
class _Buffer:
    polls: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    clients: set[tuple[str, str, str, str]] = field(default_factory=set)  # day, path, address, UA
    readers: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def size(self) -> int:
        return len(self.polls) + len(self.clients) + len(self.readers)


class PollCounter:
    """Adds polls up in memory, writes them to the store in batches."""

    def __init__(self, store: Store, *, flush_seconds: float = FLUSH_SECONDS,
                 trusted_hops: int = 0) -> None:
        self.store = store
        self.trusted_hops = trusted_hops
        # Polls noted as (path, status, REMOTE_ADDR, X-Forwarded-For, User-Agent), not
        # yet added up (bounded like the buffer: the oldest go first).
        self._noted: deque[tuple[str, int, Any, Any, Any]] = deque(maxlen=MAX_BUFFERED)
        self.engine = hot_path_engine(store)
        self.flush_seconds = flush_seconds
        self._buffer = _Buffer()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._failing_since: float | None = None  # monotonic time of the first failed write
        self._warned = False
        self._rolled_up: str | None = None
        # Clients this process already wrote today: a reader polling every 15 minutes
        # is written once a day, not at every flush (bounded; forgotten at midnight).
        self._written: set[tuple[str, str]] = set()
        self._written_day: str | None = None
        FLUSHER.jobs.add(self)

    def record(self, poll: Poll, now: datetime) -> None:
        self.count(poll.path, poll.status, poll.address, poll.user_agent, _day(now))

    def note(self, path: str, status: int, environ: Mapping[str, Any]) -> None:
        """Note a poll of `path` (200 or 304) while answering it: one append, no lock;
        `settle` adds it up on the flusher's thread."""
        self._noted.append((path, status, environ.get("REMOTE_ADDR"),
                            environ.get("HTTP_X_FORWARDED_FOR"), environ.get("HTTP_USER_AGENT")))
        FLUSHER.ensure_running()

    def settle(self) -> None:
        """Add up the noted polls (each counted on today's date)."""
        noted, day, hops = self._noted, today(), self.trusted_hops
        for _ in range(len(noted)):  # what later requests append waits for the next settle
            try:
                path, status, remote, forwarded, agent = noted.popleft()
            except IndexError:  # another thread settled them
                break
            self.count(path, status, address_from(remote, forwarded, hops), str(agent or "")[:512],
                       day)

    def count(self, path: str, status: int, address: str, user_agent: str, day: str) -> None:
        """Add one poll of `path` on `day` (a few dictionary updates; written by the
        flusher's timer, never by a request)."""
        stated = stated_subscribers(user_agent)
        with self._lock:
            buffer = self._buffer
            if buffer.size() < MAX_BUFFERED:
                counts = buffer.polls.get((day, path))
                if counts is None:
                    counts = buffer.polls[(day, path)] = [0, 0]
                counts[0] += 1
                counts[1] += status == 304
                if stated is not None:
                    key = (day, path, stated[0])
                    buffer.readers[key] = max(buffer.readers.get(key, 0), stated[1])
                else:
                    buffer.clients.add((day, path, address, user_agent))
        FLUSHER.ensure_running()

    def flush_due(self) -> None:
        """On the flusher's timer: write when FLUSH_SECONDS have passed since the last write."""
        self.settle()
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush_quietly()

    def flush_now(self) -> None:
        """At exit: write what is left (the store may be gone first: nothing to say)."""
        with contextlib.suppress(StoreUnavailable):
            self.flush()

    def flush_quietly(self, now: datetime | None = None) -> None:
        """Write, keeping the polls (bounded) when the store cannot take them. A busy
        SQLite store (a build publishing) refuses a write now and then: that is said
        only once the polls have waited over UNWRITTEN_WARNING_S, once per outage."""
        try:
            self.flush(now)
        except StoreUnavailable as exc:  # kept in memory (bounded), written next time
            since = self._failing_since = self._failing_since or time.monotonic()
            if not self._warned and time.monotonic() - since >= UNWRITTEN_WARNING_S:
                self._warned = True
                log.warning("feed polls not written for %d s, kept in memory: %s",
                            time.monotonic() - since, str(exc)[:200])
            else:
                log.debug("feed polls not written yet: %s", str(exc)[:200])
        else:
            if self._warned:
                log.warning("feed polls written again")
            self._failing_since, self._warned = None, False

    def flush(self, now: datetime | None = None) -> int:
        """Write what was counted; return how many polls were written."""
        if not self._flush_lock.acquire(blocking=False):
            return 0  # another thread is writing
        try:
            self.settle()
            with self._lock:
                buffer, self._buffer = self._buffer, _Buffer()
                self._last_flush = time.monotonic()
            if not buffer.size():
                return 0
            try:
                self._write(buffer, _day(now or utcnow()))
            except StoreUnavailable:
                with self._lock:  # put them back, under the bound
                    self._merge_back(buffer)
                raise
            from feedsvc.web.ops.instruments import POLLS_FLUSHED

            written = sum(n for n, _ in buffer.polls.values())
            POLLS_FLUSHED.inc(written)
            return written
        finally:
            self._flush_lock.release()

    def _merge_back(self, old: _Buffer) -> None:
        if self._buffer.size() + old.size() > MAX_BUFFERED:
            return
        for key, (n, nm) in old.polls.items():
            counts = self._buffer.polls.setdefault(key, [0, 0])
            counts[0] += n
            counts[1] += nm
        self._buffer.clients |= old.clients
        for rkey, subs in old.readers.items():
            self._buffer.readers[rkey] = max(self._buffer.readers.get(rkey, 0), subs)

    def _write(self, buffer: _Buffer, today: str) -> None:
        # Clients of a day already closed are dropped: their salt is gone.
        if self._written_day != today:
            self._written, self._written_day = set(), today

        def clients(salt: str) -> list[tuple[str, str, str]]:
            return sorted({(day, path, hashed) for day, path, address, agent in buffer.clients
                           if day == today and (path, hashed := client_hash(salt, address, agent))
                           not in self._written})

        rows = write_polls(self.engine, today, roll=self._rolled_up != today, polls=buffer.polls,
                           clients=clients, readers=buffer.readers)
        self._rolled_up = today
        if len(self._written) < MAX_BUFFERED * 4:
            self._written.update((path, client) for _, path, client in rows)


@dataclass(frozen=True, slots=True)
class DayCount:
    day: str
    polls: int = 0
    not_modified: int = 0
    clients: int = 0
    aggregators: dict[str, int] = field(default_factory=dict)

    @property
    def estimate(self) -> int:
        return self.clients + sum(self.aggregators.values())

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "polls": self.polls, "not_modified": self.not_modified,
                "clients": self.clients, "aggregators": dict(sorted(self.aggregators.items())),
                "subscribers": self.estimate}


@dataclass(frozen=True, slots=True)
class FeedEstimate:
    path: str
    today: DayCount
    yesterday: DayCount

    @property
    def estimate(self) -> int:
        """The last whole day's estimate, or today's so far when it is larger (a new feed)."""
        return max(self.yesterday.estimate, self.today.estimate)


_estimates: dict[int, tuple[float, str, list[FeedEstimate]]] = {}


def subscriber_estimates(store: Store, now: datetime, *, max_age: float = ESTIMATE_CACHE_SECONDS
                         ) -> list[FeedEstimate]:
    """Today's and yesterday's counts per feed (cached briefly: scrapes and /status ask often)."""
    today = _day(now)
    cached = _estimates.get(id(store))
    if cached is not None and cached[1] == today and time.monotonic() - cached[0] < max_age:
        return cached[2]
    yesterday = (_utc(now).date() - timedelta(days=1)).isoformat()
    days = (yesterday, today)
    polls, live_clients, readers = read_poll_days(store.engine, days, today)
    stated: dict[tuple[str, str], dict[str, int]] = {}
    for row in readers:
        stated.setdefault((row.day, row.path), {})[row.reader] = int(row.subscribers)
    by_feed: dict[str, dict[str, DayCount]] = {}
    for row in polls:
        clients = live_clients.get(row.path, 0) if row.day == today else int(row.clients or 0)
        by_feed.setdefault(row.path, {})[row.day] = DayCount(
            row.day, int(row.polls), int(row.not_modified), clients, stated.get((row.day, row.path), {}))
    found = [FeedEstimate(path, days_of.get(today, DayCount(today)),
                          days_of.get(yesterday, DayCount(yesterday)))
             for path, days_of in sorted(by_feed.items())]
    _estimates[id(store)] = (time.monotonic(), today, found)
    return found


def count_poll(counter: PollCounter, environ: Mapping[str, Any], status: int,
               trusted_hops: int) -> None:
    """Count the request in `environ` if it fetched a subscription feed (any WSGI layer)."""
    poll = poll_from_environ(environ, status, trusted_hops)
    if poll is not None:
        counter.record(poll, utcnow())


def init_app(app: Flask) -> PollCounter:
    """Count the polls Flask answers (the WSGI table in front notes its own: `note`)."""
    web = app.extensions["feedsvc"]
    trusted_hops = int(web.settings.trust_proxy)
    counter = PollCounter(web.store, trusted_hops=trusted_hops)
    app.extensions["feedsvc_polls"] = counter

    @app.after_request
    def _count_poll(response: Response) -> Response:
        count_poll(counter, request.environ, response.status_code, trusted_hops)
        return response

    return counter
