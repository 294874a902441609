"""The clock: the one process that writes, on a schedule.

An APScheduler 3 scheduler (UTC, fixed job ids, coalescing, one instance of a
job at a time, generous misfire grace) runs three jobs:

* `lease` renews this process's leadership every third of the lease period;
* `build` rebuilds and publishes when content or link health changed, then
  pings the WebSub hub for the feeds whose bytes changed;
* `links` checks the URLs that are due, a slice at a time.

Any number of clock processes may run against one store; a lease row elects
one leader and the others idle, re-trying every third of a lease period, so a
dead leader is replaced within two lease periods. A failing job is logged and
runs again at its next time; it never stops the clock. On SIGTERM or SIGINT
the clock stops taking new work, lets a running build finish (publishing is
one transaction, so an interrupted build publishes nothing), and gives up its
lease so that another clock can take over at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from feedsvc import opsstate
from feedsvc.build import Builder
from feedsvc.errors import StoreUnavailable
from feedsvc.links.guard import Resolver
from feedsvc.links.run import LinkRunReport, run_link_check
from feedsvc.links.store import LinkStore
from feedsvc.logs import log_event
from feedsvc.models import BuildReport, utcnow
from feedsvc.refusal import refusal_reason
from feedsvc.settings import Settings
from feedsvc.store import Store
from feedsvc.urls import Urls
from feedsvc.websub import ping_hub

log = logging.getLogger("feedsvc.clock")
LEASE_NAME = "clock"




class JobDefaults(TypedDict):
    """APScheduler's per-job defaults, as this clock sets them."""

    coalesce: bool
    max_instances: int
    misfire_grace_time: int


def job_defaults(settings: Settings) -> JobDefaults:
    # A build that ran long must not make the next one pile up (coalesce, one
    # instance) nor be skipped for being a second late (misfire grace).
    return {"coalesce": True, "max_instances": 1,
            "misfire_grace_time": max(60, settings.build_interval)}


class Clock:
    def __init__(self, settings: Settings, store: Store, *, holder: str | None = None,
                 now: Callable[[], datetime] = utcnow, check_links: bool = True,
                 resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.store = store
        self.builder = Builder(settings, store)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.now = now
        self.check_links = check_links
        self.resolver = resolver
        self.leader = False
        self.started_at = now()
        self._lease_lock = threading.Lock()

    # --- leadership ------------------------------------------------------

    def renew_lease(self) -> bool:
        with self._lease_lock:
            started = time.perf_counter()
            try:
                leader = self.store.acquire_lease(LEASE_NAME, self.holder,
                                                  self.settings.clock_lease_seconds, self.now())
            except StoreUnavailable as exc:  # no store, no leadership
                log_event(log, "lease_error", logging.WARNING, holder=self.holder, error=str(exc)[:200])
                leader = False
            changed = leader != self.leader
            if changed:
                log_event(log, "leadership", holder=self.holder, leader=leader)
            self.leader = leader
            self._publish_state(changed, time.perf_counter() - started)
            return leader

    def _publish_state(self, changed: bool, latency_s: float) -> None:
        """This clock's row in the store, for every web's /metrics (feedsvc.opsstate)."""
        with contextlib.suppress(StoreUnavailable):  # the lease error above already said so
            opsstate.record_clock(self.store, self.holder, leader=self.leader, changed=changed,
                                  started_at=self.started_at, now=self.now(), latency_s=latency_s)

    def step_down(self) -> None:
        with self._lease_lock:
            if self.leader:
                with contextlib.suppress(StoreUnavailable):  # it will expire anyway
                    self.store.release_lease(LEASE_NAME, self.holder)
                    opsstate.forget_clock(self.store, self.holder)
                self.leader = False
                log_event(log, "leadership", holder=self.holder, leader=False, reason="shutdown")

    # --- jobs --------------------------------------------------------------

    def build_job(self) -> BuildReport | None:
        if not self.renew_lease():
            return None
        started = self.now()
        try:
            report = self.builder.build()  # never with allow_shrink: only a person may shrink the site
        except Exception as exc:  # counted and kept as the last failure, then APScheduler logs it
            with contextlib.suppress(StoreUnavailable):  # a store outage is what failed it
                opsstate.record_build_failure(self.store, f"{type(exc).__name__}: {exc}", started)
            raise
        if report.refused:
            log_event(log, "build_refused", logging.ERROR, status=report.status,
                      generation=report.generation, articles=report.articles,
                      reason=refusal_reason(report.status, report.problems)[:500])
        log_event(log, "build", logging.WARNING if report.refused else logging.INFO,
                  status=report.status, generation=report.generation,
                  articles=report.articles, topics=report.topics, documents=report.documents,
                  written=report.documents_written, errors=report.errors,
                  warnings=report.warnings, parsed=report.files_parsed,
                  duration_s=report.duration_s)
        hub = self.settings.websub_hub
        if hub and report.published and report.changed_paths:
            pinged, failed = ping_hub(hub, Urls(self.settings.base_url), report.changed_paths)
            log_event(log, "websub", hub=hub, pinged=pinged, failed=failed)
            with contextlib.suppress(StoreUnavailable):
                opsstate.add_counters(self.store, websub_pings=pinged, websub_failures=failed)
        return report

    def links_job(self) -> LinkRunReport | None:
        if not self.renew_lease():
            return None
        urls = LinkStore(self.store).due(self.now(), self.settings.linkcheck_batch)
        if not urls:
            return None
        report = run_link_check(self.settings, self.store, urls, resolver=self.resolver)
        with contextlib.suppress(StoreUnavailable):
            opsstate.record_link_run(self.store, self.now(), report.checked, report.duration_s)
        log_event(log, "linkcheck", checked=report.checked, **report.counts(),
                  newly_dead=len(report.newly_dead), recovered=len(report.recovered),
                  duration_s=round(report.duration_s, 2))
        return report

    # --- scheduling --------------------------------------------------------

    def configure(self, scheduler: BaseScheduler) -> BaseScheduler:
        now = self.now()
        every = max(1.0, self.settings.clock_lease_seconds / 3)
        scheduler.add_job(self.renew_lease, "interval", seconds=every, id="lease",
                          replace_existing=True, next_run_time=now)
        scheduler.add_job(self.build_job, "interval", seconds=self.settings.build_interval,
                          id="build", replace_existing=True, next_run_time=now)
        if self.check_links:
            scheduler.add_job(self.links_job, "interval", seconds=self.settings.linkcheck_interval,
                              id="links", replace_existing=True,
                              next_run_time=now + timedelta(
                                  seconds=min(30, self.settings.linkcheck_interval)))
        scheduler.add_listener(self._job_failed, EVENT_JOB_ERROR)
        return scheduler

    def _job_failed(self, event: JobExecutionEvent) -> None:
        log_event(log, "job_failed", logging.ERROR, job=event.job_id,
                  error=f"{type(event.exception).__name__}: {event.exception}"[:500])

    def scheduler(self, *, blocking: bool) -> BaseScheduler:
        kind = BlockingScheduler if blocking else BackgroundScheduler
        return self.configure(kind(timezone=UTC, job_defaults=job_defaults(self.settings)))

    def run(self) -> None:
        """Run in the foreground until SIGTERM or SIGINT."""
        scheduler = self.scheduler(blocking=True)
        stopping = threading.Event()

        def stop(signum: int, _frame: object) -> None:
            if stopping.is_set():
                return
            stopping.set()
            log_event(log, "stopping", signal=signal.Signals(signum).name, holder=self.holder)
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log_event(log, "clock_started", holder=self.holder, build_interval=self.settings.build_interval,
                  linkcheck_interval=self.settings.linkcheck_interval,
                  lease_seconds=self.settings.clock_lease_seconds)
        try:
            scheduler.start()
        finally:
            self.step_down()
            log_event(log, "clock_stopped", holder=self.holder)
