"""What a check means over time: when a link counts as dead, when to check it next.

Pure functions over plain data, with the clock passed in. A single failure
says little (sites go down for an afternoon, some wall off bots), so a link
is dead only after several failed checks spread over at least a day; a bot
wall (`blocked`) is "unknown", never a failure, and a check that politeness
put off (`deferred`) is no check at all. Re-checks are spread evenly:
each URL gets a stable offset inside the re-check interval (from its hash), so
a large catalogue imported at once is not re-checked all at once days later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from feedsvc.models import LinkStatus

if TYPE_CHECKING:  # httpx, which the checker imports, is 0.5 s off a build's start-up
    from feedsvc.links.checker import CheckResult

MAX_RETRY = timedelta(days=1)


@dataclass(frozen=True)
class LinkRules:
    dead_after_failures: int = 3
    dead_after: timedelta = timedelta(hours=24)
    ok_interval: timedelta = timedelta(days=7)
    retry_base: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class LinkState:
    """Everything remembered about one URL between checks."""

    url: str
    status: LinkStatus = LinkStatus.UNCHECKED
    code: int | None = None
    final_url: str | None = None
    permanent_redirect: bool = False
    error: str | None = None
    checked_at: datetime | None = None
    consecutive_failures: int = 0
    first_failure_at: datetime | None = None
    next_check_at: datetime | None = None
    checks: int = 0
    dead: bool = False


def spread(url: str) -> float:
    """A stable number in [0, 1) for this URL, to spread its checks over an interval."""
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big") / 2**64


def is_dead(state: LinkState, rules: LinkRules) -> bool:
    return _dead(state.consecutive_failures, state.first_failure_at, state.checked_at, rules)


def _dead(failures: int, first_failure: datetime | None, checked_at: datetime | None,
          rules: LinkRules) -> bool:
    if failures < rules.dead_after_failures or first_failure is None:
        return False
    return checked_at is not None and checked_at - first_failure >= rules.dead_after


def next_check(state: LinkState, rules: LinkRules) -> datetime:
    if state.checked_at is None:
        raise ValueError("next_check needs a checked state")
    return _next_check(state.url, state.consecutive_failures, state.checked_at, rules)


def _next_check(url: str, failures: int, checked_at: datetime, rules: LinkRules) -> datetime:
    if failures:
        backoff: timedelta = rules.retry_base * (1 << (failures - 1))
        return checked_at + min(backoff, MAX_RETRY)
    # Healthy (or walled off): between 1/2 and 3/2 of the interval, stable per URL.
    later: datetime = checked_at + rules.ok_interval * (0.5 + spread(url))
    return later


def apply_result(state: LinkState | None, result: CheckResult, rules: LinkRules) -> LinkState:
    """The state after one more check.

    A deferred check (politeness did not allow it this run) is no check at
    all: status, counters and dates stay; only the next check moves, to the
    time the site asked for (or stays due, to be first in the next run).
    """
    state = state or LinkState(result.url)
    if result.deferred:
        return replace(state, next_check_at=result.retry_at or state.next_check_at or result.checked_at)
    failures, first_failure = state.consecutive_failures, state.first_failure_at
    if result.failed:
        failures += 1
        first_failure = first_failure or result.checked_at
    elif result.status in (LinkStatus.OK, LinkStatus.REDIRECTED):
        failures, first_failure = 0, None
    # "blocked": a bot wall or our own guard says nothing about the page; keep the counters.
    upcoming = _next_check(state.url, failures, result.checked_at, rules)
    if result.retry_at is not None:  # the site named a time: never before it
        upcoming = max(upcoming, result.retry_at)
    # One new state, not a copy per field group: recording a run makes one per result.
    return LinkState(url=state.url, status=result.status, code=result.code,
                     final_url=result.final_url, permanent_redirect=result.permanent_redirect,
                     error=result.error, checked_at=result.checked_at,
                     consecutive_failures=failures, first_failure_at=first_failure,
                     next_check_at=upcoming, checks=state.checks + 1,
                     dead=_dead(failures, first_failure, result.checked_at, rules))


def archive_url(url: str, published: datetime) -> str:
    """A Web Archive address for the page as it was when the article was published.

    The Wayback Machine redirects a timestamped URL to the nearest snapshot, so
    this needs no network call to build.
    """
    return f"https://web.archive.org/web/{published:%Y%m%d%H%M%S}/{quote(url, safe=':/?&=%#+@,;~')}"
