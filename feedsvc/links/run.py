"""One link-check run: pick the due URLs, check them, fold the results into the store."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feedsvc.errors import LeaseLost
from feedsvc.links import eventloop
from feedsvc.links.checker import CheckerConfig, CheckResult, LinkChecker, user_agent
from feedsvc.links.guard import Resolver
from feedsvc.links.policy import LinkRules
from feedsvc.models import LinkStatus, utcnow
from feedsvc.settings import Settings
from feedsvc.store import Fence, Store
from feedsvc.store.linkstore import LinkStore

RECORD_EVERY = 50


def rules_from(settings: Settings) -> LinkRules:
    return LinkRules(dead_after_failures=settings.dead_after_failures,
                     dead_after=timedelta(hours=settings.dead_after_hours),
                     ok_interval=timedelta(days=settings.linkcheck_ok_days),
                     retry_base=timedelta(hours=settings.linkcheck_retry_hours))


def checker_config(settings: Settings) -> CheckerConfig:
    return CheckerConfig(user_agent(settings.base_url), settings.linkcheck_concurrency,
                         settings.linkcheck_per_host, settings.linkcheck_host_gap,
                         settings.linkcheck_timeout, settings.linkcheck_deadline,
                         settings.linkcheck_max_redirects, settings.linkcheck_run_budget,
                         settings.linkcheck_soft404_probe)


STATUSES = tuple(s for s in LinkStatus.in_order() if s.checked)  # what a run reports


@dataclass
class LinkRunReport:
    """What one run did. `checked` counts real checks; `deferred` URLs were not checked
    (politeness did not allow it in this run's budget) and are due again later."""

    checked: int = 0
    deferred: int = 0
    duration_s: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    newly_dead: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {**{s: self.by_status.get(s, 0) for s in STATUSES}, "deferred": self.deferred}

    def line(self) -> str:
        # Soft 404s on a clause of their own, after the deferrals: the line's first part
        # reads as it always has, for the scripts and people that parse it.
        statuses = ", ".join(f"{s} {self.by_status.get(s, 0)}" for s in STATUSES
                             if s is not LinkStatus.SOFT_404)
        return (f"checked {self.checked} URLs in {self.duration_s:.1f}s: {statuses}; "
                f"deferred {self.deferred} to a later run; "
                f"soft 404 {self.by_status.get(LinkStatus.SOFT_404, 0)}; "
                f"newly dead {len(self.newly_dead)}, recovered {len(self.recovered)}")


def select_urls(links: LinkStore, *, all_urls: bool, limit: int | None, now: datetime) -> list[str]:
    urls = links.active_urls() if all_urls else links.due(now)
    return urls[:limit] if limit is not None else urls


def run_link_check(settings: Settings, store: Store, urls: list[str], *,
                   resolver: Resolver | None = None,
                   on_result: Callable[[CheckResult], None] | None = None,
                   fence: Fence | None = None) -> LinkRunReport:
    """Check these URLs and record every result (in batches, so an interrupted run keeps
    what it finished).

    With a `fence` (the clock's lease) every batch is recorded only while the lease is
    held; once it is lost, LeaseLost ends the run and the results not yet recorded are
    dropped (a clock that took over checks those URLs again: they are still due)."""
    links = LinkStore(store)
    rules = rules_from(settings)
    report = LinkRunReport()
    before = links.states(urls)
    pending: list[CheckResult] = []
    started = time.perf_counter()

    def flush() -> None:
        batch = list(pending)
        pending.clear()  # recorded or fenced out: either way never offered again
        for state in links.record(batch, rules, fence=fence):
            old = before.get(state.url)
            if state.dead and not (old and old.dead):
                report.newly_dead.append(state.url)
            if old and old.dead and not state.dead:
                report.recovered.append(state.url)

    async def run() -> None:
        async with LinkChecker(checker_config(settings), allow=settings.linkcheck_allow,
                               resolver=resolver) as checker:
            async for result in checker.check_many(urls):
                if result.deferred:
                    report.deferred += 1
                else:
                    report.checked += 1
                    report.by_status[result.status] += 1
                pending.append(result)
                if on_result is not None:
                    on_result(result)
                if len(pending) >= RECORD_EVERY:
                    flush()

    lost = False
    try:
        eventloop.run(run())
    except LeaseLost:
        lost = True
        raise
    finally:
        try:
            if not lost:
                if pending:
                    flush()
                links.snapshot(utcnow(), fence=fence)
        finally:
            report.duration_s = time.perf_counter() - started
    return report

