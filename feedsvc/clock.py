"""The clock: the one process that writes, on a schedule.

An APScheduler 3 scheduler (UTC, fixed job ids, coalescing, one instance of a
job at a time, generous misfire grace) runs four jobs:

* `lease` takes or renews this process's leadership every third of the lease
  period;
* `build` rebuilds and publishes when content or link health changed (queueing
  WebSub pings for the feeds whose bytes changed, in the same transaction); on
  a standby it refreshes the parse cache instead, publishing nothing, so that a
  takeover does not parse the whole content directory again;
* `links` checks this clock's share of the URLs that are due, a slice at a
  time, on the leader and the standbys alike (feedsvc.links.shared: the clocks
  split the work a host at a time, through claims in the store);
* `websub` sends the queued pings, in parallel and within a bounded time, so a
  hub that never answers delays no build.

Any number of clock processes may run against one store; a lease row elects
one leader and the others stand by, re-trying every third of a lease period, so
a dead leader is replaced within two lease periods, and the new leader builds
at once. Every acquisition bumps the lease's epoch, and every write a job
makes is **fenced** on the epoch it started under (`feedsvc.store.Fence`): a
leader that was paused (SIGSTOP, a GC pause, a stalled VM) and lost its lease
writes nothing when it wakes; its build is discarded with one log line and it
stands by again.

While a job runs, a thread of its own renews the lease (`_renewing`). A thread,
not renewals at checkpoints: the long waits are inside code that has no
checkpoints (a parse in worker processes, a commit, an HTTP request), and the
scheduler's own `lease` job stops at shutdown, which is exactly when a running
job still needs the lease. A frozen process freezes that thread too, which is
what the fence is for.

A failing job is logged and runs again at its next time; it never stops the
clock. On SIGTERM or SIGINT the clock stops taking new work, lets running jobs
finish (still renewing), and then gives up its lease so that another clock can
take over at once.
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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from feedsvc.build import Builder
from feedsvc.drift import drift, shaping_settings
from feedsvc.errors import LeaseLost, PublishConflict, StoreUnavailable
from feedsvc.links.guard import Resolver
from feedsvc.links.run import LinkRunReport
from feedsvc.links.shared import Share, run_shared_check
from feedsvc.logs import log_event
from feedsvc.models import BuildReport, utcnow
from feedsvc.refusal import refusal_reason
from feedsvc.settings import Settings
from feedsvc.store import CLOCK_LEASE, Fence, Store
from feedsvc.store.linkstore import LinkStore
from feedsvc.web.linkstate import CLOCK_STATE
from feedsvc.websub import SendReport, send_due

log = logging.getLogger("feedsvc.clock")




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
        self.epoch: int | None = None
        # Until when (time.monotonic()) the lease is ours for certain: counted from before
        # the claim that won it was sent, so never later than the store's own expiry.
        self._held_until = 0.0
        store.label_sessions(self.holder)
        self.started_at = now()
        self._lease_lock = threading.Lock()
        self._scheduler: BaseScheduler | None = None
        self._building = threading.Event()  # the build job is running (it sees a takeover itself)

    # --- leadership ------------------------------------------------------

    def renew_lease(self, *, build_now: bool = True) -> bool:
        """Take or renew the lease. On a takeover, warn about settings drift and (unless
        `build_now` is False: the caller is the build) run the build at once."""
        with self._lease_lock:
            started = time.perf_counter()
            asked_at = time.monotonic()
            ttl = self.settings.clock_lease_seconds
            try:
                epoch = self.store.claim_lease(CLOCK_LEASE, self.holder, ttl, self.now())
            except StoreUnavailable as exc:
                # A database restart or a dropped connection: a lease that has not run out
                # is still this clock's (nobody else can take it before it does), so the
                # leader keeps it and renews at the next try instead of standing down.
                epoch = self.epoch if self.leader and time.monotonic() < self._held_until else None
                log_event(log, "lease_error", logging.WARNING, holder=self.holder, error=str(exc)[:200],
                          kept=epoch is not None)
            else:
                if epoch is not None:
                    self._held_until = asked_at + ttl
            took_over = epoch is not None and epoch != self.epoch
            changed = (epoch is not None) != self.leader or took_over
            if changed:
                log_event(log, "leadership", holder=self.holder, leader=epoch is not None,
                          epoch=epoch if epoch is not None else self.epoch)
            self.leader, self.epoch = epoch is not None, epoch
            self._publish_state(changed, time.perf_counter() - started)
        if took_over:
            self._warn_on_drift()
            if build_now:
                self._build_now()
        return epoch is not None

    def _publish_state(self, changed: bool, latency_s: float) -> None:
        """This clock's row in the store, for every web's /metrics (Store.record_clock)."""
        with contextlib.suppress(StoreUnavailable):  # the lease error above already said so
            self.store.record_clock(self.holder, leader=self.leader, changed=changed,
                                    started_at=self.started_at, now=self.now(), latency_s=latency_s,
                                    lease_seconds=self.settings.clock_lease_seconds)

    def fence(self) -> Fence | None:
        """The fence for a job starting now: the lease as held at this moment."""
        epoch = self.epoch
        return Fence(CLOCK_LEASE, self.holder, epoch, self.now) if self.leader and epoch else None

    def _lost(self, fence: Fence, job: str, error: Exception) -> bool:
        """A fenced write found the lease gone: discard, stand by, say so once. True when
        this clock holds the lease again under a newer epoch (its own expired and it
        took it back), so that the job may run again at once."""
        log_event(log, "fenced", logging.WARNING, job=job, holder=self.holder, epoch=fence.epoch,
                  reason=str(error)[:300],
                  action="discarded: nothing was written; standing by")
        with self._lease_lock:
            still_leader = self.leader and self.epoch != fence.epoch  # got it back meanwhile
            if self.epoch == fence.epoch:
                self.leader, self.epoch = False, None
                log_event(log, "leadership", holder=self.holder, leader=False, epoch=fence.epoch,
                          reason="fenced")
        return still_leader

    def _replaced(self, fence: Fence, error: Exception) -> bool:
        """Whether a fenced job's store error means that another clock holds the lease now:
        a new leader ends the sessions of the one it replaced, so a job of a clock that
        was frozen or cut off fails with a store error, not LeaseLost, when it resumes."""
        if not isinstance(error, StoreUnavailable):
            return False
        try:
            return not self.store.fence_holds(fence)
        except StoreUnavailable:
            return False

    def _warn_on_drift(self) -> None:
        """A clock whose settings differ from those that shaped the current generation
        will rewrite the feeds: say which settings, before it does."""
        try:
            recorded = self.store.generation_settings()
        except StoreUnavailable:
            return
        if recorded is None:
            return
        differs = drift(recorded[1], shaping_settings(self.settings))
        if differs:
            log_event(log, "settings_drift", logging.WARNING, holder=self.holder,
                      settings=",".join(differs),
                      detail="; ".join(f"{name}: published {old!r}, this clock {new!r}"
                                       for name, (old, new) in differs.items())[:1000],
                      effect="this clock's next build rewrites the feeds with its own settings")

    def _build_now(self) -> None:
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running or self._building.is_set():
            return
        with contextlib.suppress(Exception):  # the job may be gone at shutdown
            scheduler.modify_job("build", next_run_time=datetime.now(UTC))

    @contextlib.contextmanager
    def _renewing(self) -> Iterator[None]:
        """Renew the lease every third of its period for as long as the block runs."""
        done = threading.Event()
        every = max(0.5, self.settings.clock_lease_seconds / 3)

        def keep() -> None:
            while not done.wait(every):
                self.renew_lease(build_now=False)

        thread = threading.Thread(target=keep, name="lease-renewal", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def step_down(self) -> None:
        with self._lease_lock:
            if self.leader:
                with contextlib.suppress(StoreUnavailable):  # it will expire anyway
                    self.store.release_lease(CLOCK_LEASE, self.holder)
                    self.store.forget_clock(self.holder)
                self.leader, self.epoch = False, None
                log_event(log, "leadership", holder=self.holder, leader=False, reason="shutdown")

    # --- jobs --------------------------------------------------------------

    def build_job(self) -> BuildReport | None:
        self._building.set()
        try:
            return self._build_job()
        finally:
            self._building.clear()

    def _build_job(self) -> BuildReport | None:
        if not self.renew_lease(build_now=False):
            self.warm()
            if not self.leader:  # still standing by (else: took over while warming)
                return None
        fence = self.fence()
        if fence is None:
            return None
        started = self.now()
        try:
            with self._renewing():
                # never with allow_shrink: only a person may shrink the site
                report = self.builder.build(fence=fence)
        except LeaseLost as exc:
            if self._lost(fence, "build", exc):
                return self._build_job()
            return None
        except PublishConflict as exc:
            log_event(log, "build_conflict", logging.WARNING, holder=self.holder, reason=str(exc))
            return None
        except Exception as exc:  # counted and kept as the last failure, then APScheduler logs it
            if self._replaced(fence, exc):
                self._lost(fence, "build", exc)
                return None
            with contextlib.suppress(StoreUnavailable):  # a store outage is what failed it
                self.store.record_build_failure(f"{type(exc).__name__}: {exc}", started)
            raise
        self._record_clock_state()
        self._arm(report)
        if report.refused:
            log_event(log, "build_refused", logging.ERROR, status=report.status,
                      generation=report.generation, articles=report.articles,
                      reason=refusal_reason(report.status, report.problems)[:500])
        log_event(log, "build", logging.WARNING if report.refused else logging.INFO,
                  status=report.status, generation=report.generation,
                  articles=report.articles, topics=report.topics, documents=report.documents,
                  written=report.documents_written, errors=report.errors,
                  warnings=report.warnings, parsed=report.files_parsed,
                  duration_s=report.duration_s, epoch=fence.epoch)
        return report

    def _arm(self, report: BuildReport) -> None:
        """Bring the build job forward to the next scheduled change (an article due or
        expiring), so it is published within seconds of its time whatever the build
        interval; each build arms again, so an edit that moves a date moves the build."""
        at = report.next_change_at
        scheduler = self._scheduler
        if at is None or scheduler is None or not scheduler.running:
            return
        job = scheduler.get_job("build")
        if job is None or (job.next_run_time is not None and job.next_run_time <= at):
            return
        with contextlib.suppress(Exception):  # the job may be gone at shutdown
            scheduler.modify_job("build", next_run_time=at)
            change = report.schedule[0]
            log_event(log, "schedule_armed", at=at.isoformat(), action=str(change.action),
                      path=change.path, scheduled=len(report.schedule))

    def warm(self) -> None:
        """On a standby: keep the parse cache in step with the content, publish nothing."""
        started = time.perf_counter()
        try:
            load = self.builder.refresh_cache()
        except Exception as exc:  # noqa: BLE001 - a standby's refresh must never stop the clock
            log_event(log, "standby_refresh_failed", logging.WARNING,
                      error=f"{type(exc).__name__}: {exc}"[:300])
            return
        log_event(log, "standby_refresh", holder=self.holder, files=load.files,
                  parsed=load.files_parsed, cached=load.files_cached,
                  duration_s=round(time.perf_counter() - started, 3))

    def links_job(self) -> LinkRunReport | None:
        """Check this clock's share of the due URLs, leader or standby alike (on PostgreSQL;
        on SQLite the leader alone).

        Every clock checks links: the due URLs are claimed from the store a host at a
        time (feedsvc.links.shared), each result written only while its host is held.
        The leader's writes are fenced on its lease as well, and it alone records the
        day's snapshot; a standby's run writes link rows and nothing else: building
        and publishing stay the leader's."""
        leader = self.renew_lease()
        if not leader and self.store.engine.dialect.name == "sqlite":
            return None  # SQLite has no row locks to share hosts by: its leader checks alone
        fence = self.fence() if leader else None
        started = self.now()
        if not LinkStore(self.store).due_count(started):
            if leader:
                self._record_link_run(started, 0, 0.0)
            return None
        share = Share(self.holder, limit=self.settings.linkcheck_batch, due_by=self.now)
        try:
            with self._renewing() if fence is not None else contextlib.nullcontext():
                report = run_shared_check(self.settings, self.store, share, resolver=self.resolver,
                                          fence=fence, snapshot=fence is not None)
        except (LeaseLost, StoreUnavailable) as exc:
            if fence is None or (not isinstance(exc, LeaseLost) and not self._replaced(fence, exc)):
                raise
            self._lost(fence, "links", exc)
            return None
        if fence is not None or report.checked:
            self._record_link_run(started, report.checked, report.duration_s)
        log_event(log, "linkcheck", checked=report.checked, **report.counts(),
                  newly_dead=len(report.newly_dead), recovered=len(report.recovered),
                  duration_s=round(report.duration_s, 2))
        return report

    def _record_clock_state(self) -> None:
        """Tell the pages whether links are being checked and how often (/links, article pages)."""
        with contextlib.suppress(StoreUnavailable):  # the pages then say what they last knew
            self.store.put_state(CLOCK_STATE, {
                "check_links": self.check_links, "linkcheck_interval": self.settings.linkcheck_interval,
                "build_interval": self.settings.build_interval, "at": self.now().isoformat()})

    def _record_link_run(self, started: datetime, checked: int, duration_s: float) -> None:
        """One record of the run (the pages' `last_link_run`) and the link-run counters."""
        with contextlib.suppress(StoreUnavailable):
            self.store.record_link_run(
                started, checked, duration_s,
                next_at=started + timedelta(seconds=self.settings.linkcheck_interval))

    def websub_job(self) -> SendReport | None:
        if not self.renew_lease():
            return None
        fence = self.fence()
        if fence is None:
            return None
        try:
            with self._renewing():
                report = send_due(self.store, self.settings.base_url,
                                  budget=self.settings.websub_budget,
                                  concurrency=self.settings.websub_concurrency,
                                  retry_base=self.settings.websub_retry_seconds, fence=fence)
        except (LeaseLost, StoreUnavailable) as exc:
            if not isinstance(exc, LeaseLost) and not self._replaced(fence, exc):
                raise
            self._lost(fence, "websub", exc)
            return None
        if report.sent or report.failed:
            with contextlib.suppress(StoreUnavailable):
                self.store.add_counters(websub_pings=report.sent,
                                      websub_failures=report.failed)
            backlog = self.store.websub_backlog()
            log_event(log, "websub", logging.WARNING if report.failed else logging.INFO,
                      sent=report.sent, failed=report.failed, duration_s=report.duration_s,
                      pending=backlog["pending"], failing=backlog["failing"],
                      oldest_age_s=backlog["oldest_age_s"])
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
        # Scheduled even without a hub set now: pings queued under an earlier setting
        # still go out (each row names its hub).
        scheduler.add_job(self.websub_job, "interval", seconds=self.settings.websub_interval,
                          id="websub", replace_existing=True,
                          next_run_time=now + timedelta(seconds=1))
        scheduler.add_listener(self._job_failed, EVENT_JOB_ERROR)
        self._scheduler = scheduler
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
        stopper: list[threading.Thread] = []

        def stop(signum: int, _frame: object) -> None:
            if stopping.is_set():
                return
            stopping.set()
            log_event(log, "stopping", signal=signal.Signals(signum).name, holder=self.holder)
            thread = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
            stopper.append(thread)
            thread.start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log_event(log, "clock_started", holder=self.holder, build_interval=self.settings.build_interval,
                  linkcheck_interval=self.settings.linkcheck_interval,
                  lease_seconds=self.settings.clock_lease_seconds)
        try:
            scheduler.start()
        finally:
            # The scheduler's loop returns as soon as it is told to stop, while jobs may
            # still run (renewing the lease): give the lease up only once they are done.
            for thread in stopper:
                thread.join()
            self.step_down()
            log_event(log, "clock_stopped", holder=self.holder)
