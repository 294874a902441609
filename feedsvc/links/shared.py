"""A link-check run that shares the store's due URLs with every other checker.

Any number of processes (every clock, leader or standby, and `feedsvc links
check`) run this at once over one store. Each claims a few hosts at a time with
a batch of their URLs (feedsvc.store.linkclaims), checks a host's batch through
the host's own queue, records the results while it still holds the host, and
lets the host go with the time it may next be asked (the gap after its last
request, or a `Retry-After`). Politeness therefore needs no coordination per
request: a host is one process's at a time, and the next process starts where
the last one's gap ends.

A checker holds at most its fair part of the hosts (those with URLs left over the
checkers at work); one that holds more, because it came first, lets its surplus
hosts go after the checks in flight, and the newcomer takes their remaining URLs.

A run takes on the URLs that are due (or, with `all_urls`, every active URL)
and that nobody has checked since it began, so two runs started together
check each URL once between them; it stops when none is left, when `limit`
URLs have been claimed, or when its time budget is spent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from feedsvc.errors import ClaimLost
from feedsvc.interpreter import set_for_a_while
from feedsvc.links import eventloop
from feedsvc.links.checker import CheckResult, LinkChecker
from feedsvc.links.guard import Resolver
from feedsvc.links.policy import LinkState
from feedsvc.links.run import RECORD_EVERY, LinkRunReport, checker_config, rules_from
from feedsvc.models import utcnow
from feedsvc.settings import Settings
from feedsvc.store import Fence, Store
from feedsvc.store.linkclaims import HostClaim, LinkClaims
from feedsvc.store.linkstore import LinkStore

log = logging.getLogger("feedsvc.links")

POLL_SECONDS = 0.25  # how often a checker with nothing claimable looks again
# How often such a checker, while others hold hosts, counts them (`_await_release`): it
# claims again as soon as one is let go, not up to POLL_SECONDS later. At the end of a run
# that wait was a quarter second added to the run of the checker that finished first.
# The first counts come sooner (from RELEASE_POLL_FIRST, half as long again each time):
# at the end of a run the others' last hosts are let go within moments, and the wait of
# the checker that finished first, up to RELEASE_POLL after the last one was let go, had
# become the end of the whole run.
RELEASE_POLL = 0.05
RELEASE_POLL_FIRST = 0.01
# How often a checker says it is alive and looks up its fair part of the hosts: about how
# long a newcomer waits for its first hosts when the others hold them all. (At 0.5 s, a
# checker that started a moment late waited up to 0.8 s for its part, then checked it
# behind everyone else: the run's end moved by as much.)
SHARE_SECONDS = 0.25
# A checker alone at its first claim takes half its part, and looks at who is at work this
# long after before it takes the rest (`_loop`): two checkers started together, as two
# clocks or two `links check` commands are, come up a few tenths of a second apart, and
# at once was too soon to see the other (the first took every host, then had to hand half
# of them over). Less than a fifth of the default gap between two requests to a host: a
# lone checker's second half starts within what politeness would make it wait anyway.
RAMP_LOOK = 0.15
# The hosts with URLs left are counted (a scan of the due links) at every look-up only when
# they are few enough to bound a checker (at most twice what the checkers can hold between
# them), and otherwise every RECOUNT_SECONDS: at 100,000 links, two checkers counting every
# half second were two fifths of PostgreSQL's CPU.
RECOUNT_SECONDS = 2.0
# A checker starts out holding as many hosts as its concurrency keeps busy at their
# per-host limit (`hosts_at_once`). When the gap between two requests to a host is what
# limits the hosts instead (at the defaults, a 1 s gap and answers in 0.1 s, a host keeps
# a tenth of a slot busy), that many hosts leave nearly all the slots idle: 400 URLs over
# 40 loopback hosts took 44.7 s where a checker given them all at once took 9.2 s. So a
# checker that held all the hosts it may for GROW_SECONDS while they kept less than
# GROW_BELOW of its concurrency busy may hold as many as would keep that much busy (at
# least twice as many), up to HOSTS_PER_SLOT per slot of its concurrency, and never more
# than its fair part.
GROW_SECONDS = 1.0
GROW_BELOW = 0.75
HOSTS_PER_SLOT = 16
MAX_PER_HOST_BATCH = 100  # a host's batch: handed over between checkers at this grain
STORE_THREADS = 12  # store calls in flight at once (claims, results, releases): off the loop
# Results are written by a few recorders, each taking every host's batch waiting at the
# time (up to RECORD_MAX results) into one transaction: a transaction's fixed cost (its
# round trips, the shared version and count rows) is paid per write, not per host batch.
RECORDERS = 2
RECORD_MAX = 500
# A host's results are handed to the recorders at least this often (and every RECORD_EVERY
# results): written as they come, not in a burst when the hosts end their batches. Hosts
# given equal work end together; recording all their results then kept the run going for
# a second or more after the last check. The hosts hand theirs over on the same ticks of
# this period, and a recorder woken by the first of them waits RECORD_GATHER for the rest
# (unless a host is being let go): a transaction per tick, not one per host's hand-over
# (124 transactions of 40 results each for one checker's 5,000, each with its fixed
# statements: the fence, the counts, the version).
# With a gap between two requests to a host (the defaults: 1 s), results come a few a
# second per checker and each transaction's fixed cost (about 3.5 ms of client CPU) is
# paid for a handful of them; the hosts' batches end at different times, and every one
# that let its host go was a transaction of its own. There the tick is the gap (a host
# has at most one new result per gap anyway) and a recorder waits a quarter of it (at
# most 0.25 s) for the others, a host being let go included: a host's next request is a
# gap away whoever holds it. 2,000 URLs over 200 hosts at the defaults: 1.13 ms of CPU
# per URL (median of three runs), 0.85 ms now, the run's length unchanged (14.3 s).
RECORD_SECONDS = 0.25
RECORD_GATHER = 0.05
# At a low rate of results a tick's transaction carried a few dozen of them, and every host
# let go was one more (without a gap, a host's last batch was written at once): 10,000 URLs
# over 200 hosts at concurrency 20 were 340-450 transactions, each with the fixed cost above.
# So the tick lengthens, up to RECORD_SECONDS_MOST, to what RECORD_MAX results take at the
# rate measured over the last RATE_WINDOW, and while it is longer than RECORD_SECONDS a host
# let go waits for the recorder's gather too. At a high rate it stays short: at concurrency
# 400 a longer tick left more results to write when the hosts end together, and the run
# ended later (two checkers: 0.72 of the bound against 0.77).
RECORD_SECONDS_MOST = 1.0
RATE_WINDOW = 1.0
# How long a thread may hold the GIL while another waits for it, during a run (Python's
# default: 5 ms). The store threads fold and encode results in Python while the event
# loop has answers to read; at the default, an answer could wait that long for the loop
# to get the GIL back. Two checkers at concurrency 400: 0.801 of the bound (median of
# eight interleaved runs, 0.787-0.818) against 0.790 (0.768-0.805) at the default.
# Only without a gap between two requests to a host: with one (the defaults), answers come
# a few a second, none waits on the GIL for long, and switching ten times as often cost
# CPU: 2,000 URLs over 200 hosts at the defaults, 0.73 ms of CPU per URL against 0.66-0.68
# at the default interval (three interleaved runs each), the run 0.2 s longer.
SWITCH_INTERVAL = 0.0005


@dataclass(slots=True)
class _Waiting:
    """One host's batch of results waiting for a recorder, and who awaits its write."""

    host: str
    batch: list[CheckResult]
    done: asyncio.Future[list[tuple[bool, LinkState]]]
    release: bool = False  # the host's last batch: let the host go in the same transaction
    not_before: datetime | None = None  # when it may next be asked, if let go


@dataclass(frozen=True)
class Share:
    """Who is checking (`holder`, unique per process) and what the run takes on."""

    holder: str
    all_urls: bool = False
    limit: int | None = None
    due_by: Callable[[], datetime] = field(default=utcnow)  # the clock "due" is judged by
    # What counts as "already checked in this run": a check since then, by anyone. None:
    # since the run began. A command passes the moment it was entered, before reading
    # the content, so that two started together agree neither has checked anything yet.
    since: datetime | None = None


def record_tick(rate: float, shortest: float) -> float:
    """How often hosts hand their results over when they come at `rate` a second: as long
    as RECORD_MAX of them take, within `shortest` (RECORD_SECONDS, or the gap if longer)
    and RECORD_SECONDS_MOST (or `shortest`, if longer)."""
    longest = max(RECORD_SECONDS_MOST, shortest)
    if rate <= 0:
        return longest
    return min(max(RECORD_MAX / rate, shortest), longest)


def per_host_batch(settings: Settings) -> int:
    """URLs claimed with a host: about a quarter of a claim's life at the host's gap (two
    requests a URL at most), so a batch is done well before its claim would need renewing."""
    gap = max(settings.linkcheck_host_gap, 0.05)
    fits = int(settings.linkcheck_claim_seconds / (4 * gap))
    return max(settings.linkcheck_per_host, min(fits, MAX_PER_HOST_BATCH))


class _SharedRun:
    """One run's state: its claims, its checker, its report."""

    def __init__(self, settings: Settings, store: Store, share: Share, *,
                 resolver: Resolver | None, on_result: Callable[[CheckResult], None] | None,
                 fence: Fence | None) -> None:
        self.settings = settings
        self.share = share
        self.links = LinkStore(store)
        self.rules = rules_from(settings)
        self.claims = LinkClaims(store, share.holder, settings.linkcheck_claim_seconds)
        self.resolver = resolver
        self.on_result = on_result
        self.fence = fence
        self.report = LinkRunReport()
        # "Not checked since": wall-clock time, as results are dated.
        self.started = share.since or utcnow()
        self.claimed = 0
        self.held: set[str] = set()
        self.waiting: deque[_Waiting] = deque()
        self.wake = asyncio.Event()
        # Sharing the hosts fairly (`_rebalance`): this checker's part (None: no other
        # checker at work), when it was last looked up, the URLs not yet checked of each
        # host in hand, and the hosts being let go to the others.
        self.cap: int | None = None
        self.share_seen = -SHARE_SECONDS
        # What the part was computed from: the hosts with URLs left (None: not counted,
        # when alone), when they were counted, and the live checkers.
        self.hosts_left: int | None = None
        self.counted_at = -RECOUNT_SECONDS
        self.checkers = 1
        self.others_held = 0  # the hosts the others held at that look-up
        self.left: dict[str, int] = {}
        self.shedding: set[str] = set()
        self.retired = False
        self.claimed_at = -POLL_SECONDS
        # As many hosts as this checker's concurrency keeps busy at their per-host limit, to
        # begin with (`_grow`); and since when, with how many slot seconds used then, it has
        # held that many.
        self.hosts_at_once = -(-settings.linkcheck_concurrency // settings.linkcheck_per_host)
        self.full_since: float | None = None
        self.slots_then = 0.0
        # How often results are handed over, and gathered (see RECORD_SECONDS).
        gap = settings.linkcheck_host_gap
        self.gapped = gap > 0
        self.shortest_tick = max(RECORD_SECONDS, gap)
        self.record_seconds = self.shortest_tick
        self.record_gather = max(RECORD_GATHER, min(gap, 1.0) / 4)
        self.rate_since = time.monotonic()  # results handed to the recorders since then
        self.rate_results = 0

    def _due_by(self) -> datetime | None:
        return None if self.share.all_urls else self.share.due_by()

    async def run(self) -> None:
        config = checker_config(self.settings)
        deadline = time.monotonic() + config.run_budget
        # Every host batch ends with a write and a release: with hundreds of hosts in hand,
        # asyncio's default of cpu+4 threads made the hosts queue for the store.
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="link-store"))
        # Say this checker is at work first, while the checker is being made: a checker
        # started at the same moment then sees it before its first claim (see `_loop`).
        first_share = asyncio.ensure_future(self._rebalance())
        async with LinkChecker(config, allow=self.settings.linkcheck_allow,
                               resolver=self.resolver) as checker:
            await first_share
            helpers = [asyncio.create_task(self._renew()),
                       *(asyncio.create_task(self._recorder()) for _ in range(RECORDERS))]
            workers: set[asyncio.Task[None]] = set()
            try:
                await self._loop(checker, workers, deadline)
            finally:
                for task in (*helpers, *workers):
                    task.cancel()
                await asyncio.gather(*helpers, *workers, return_exceptions=True)
                if not self.retired:
                    await asyncio.shield(asyncio.to_thread(self.claims.retire))

    async def _loop(self, checker: LinkChecker, workers: set[asyncio.Task[None]],
                    deadline: float) -> None:
        """Keep this checker's part of the hosts in hand until nothing is left to take on."""
        # As many hosts as this checker's concurrency can keep busy, no more; and with
        # other checkers at work, no more than its fair part (`_rebalance`). Hosts are
        # claimed a quarter of that at a time (or after POLL_SECONDS): a claim per host
        # done, each a scan of the due URLs, made the claims the bottleneck once hosts
        # finish their batches at different times (1,000 hosts at concurrency 400).
        # The first claim, while no other checker is seen, takes half (`ramping`).
        ramping, look_again = True, False
        while True:
            wanted = self.share.limit is None or self.claimed < self.share.limit
            may_claim = wanted and time.monotonic() < deadline
            # Its hosts all done (or the last one let go by another checker): at the end of
            # a run nothing is left, and asking that (an EXISTS) before claiming (a scan of
            # the due links that would find nothing) ends the run a claim's time sooner.
            asked = may_claim and not workers and self._has_worked()
            if asked and await self._nothing_left():
                return
            if may_claim:
                await self._rebalance(now=look_again)
            elif not self.retired:  # taking on nothing more: no longer one of the sharers
                self.retired = True
                await asyncio.to_thread(self.claims.retire)
            look_again = False
            most = min(self.hosts_at_once, self.cap or self.hosts_at_once)
            room = most - len(workers)
            got: list[HostClaim] = []
            if may_claim and room > 0 and (room * 4 >= most or not workers or
                                           time.monotonic() - self.claimed_at >= POLL_SECONDS):
                # Alone so far, a checker comes up to its part in halves, looking again at
                # who is at work before each: a checker started at the same moment gets
                # its part from the first, instead of waiting for the first to let it go.
                take = -(-room // 2) if ramping and self.cap is None and room > 1 else room
                self.claimed_at = time.monotonic()
                got = await asyncio.to_thread(self._claim, take)
                for claim in got:
                    workers.add(asyncio.create_task(self._work(checker, claim)))
                if ramping and self.cap is None and take < room and len(got) == take:
                    ramping, look_again = False, True
                    await asyncio.sleep(RAMP_LOOK)  # the first half's checks go on meanwhile
                    continue  # the share looked up again, then the other half
            ramping = False
            self._grow(checker, len(workers))
            if not workers:
                if not may_claim:
                    return
                if not got and not asked and await self._nothing_left():
                    return  # (asked already this turn: something was left a moment ago)
                await self._await_release()  # the hosts left are another checker's
                continue
            # While claiming, wake to look at the shares again even if no host is done; and
            # while others let surplus hosts go to this checker, as soon as one is let go.
            if may_claim and self._others_shedding(len(workers)):
                done = await self._await_release(workers)
            else:
                done, _ = await asyncio.wait(workers, timeout=POLL_SECONDS if may_claim else None,
                                             return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                workers.discard(task)
                task.result()  # LeaseLost (the clock's fence) ends the run

    def _grow(self, checker: LinkChecker, holding: int) -> None:
        """Hold more hosts from now on (as many as would keep GROW_BELOW of the slots busy
        at the rate measured, at least twice as many) if the `holding` hosts in hand are
        all this checker may hold and, for the last GROW_SECONDS, kept less than GROW_BELOW
        of its concurrency busy: their gaps limit them, not their per-host limit, so more
        hosts at once is what keeps the slots busy. (With no gap, a host keeps its per-host
        limit busy and `hosts_at_once` fills the slots by construction.)"""
        if not self.gapped:
            return
        now = time.monotonic()
        if holding < self.hosts_at_once or self.full_since is None:
            self.full_since = now if holding >= self.hosts_at_once else None
            self.slots_then = checker.slot_seconds()
            return
        held_for = now - self.full_since
        if held_for < GROW_SECONDS:
            return
        slots = checker.slot_seconds()
        used = (slots - self.slots_then) / (held_for * self.settings.linkcheck_concurrency)
        self.full_since, self.slots_then = now, slots
        most = self.settings.linkcheck_concurrency * HOSTS_PER_SLOT
        if used < GROW_BELOW and self.hosts_at_once < most:
            # As many as would keep GROW_BELOW busy at this rate, at least twice as many.
            wanted = math.ceil(holding * GROW_BELOW / max(used, 0.01))
            self.hosts_at_once = min(max(2 * self.hosts_at_once, wanted), most)
            log.info("link checker %s: %d hosts kept %.0f%% of its %d slots busy; it may now "
                     "hold %d", self.share.holder, holding, 100 * used,
                     self.settings.linkcheck_concurrency, self.hosts_at_once)

    def _has_worked(self) -> bool:
        """Whether this run has had any result yet (its start claims without asking)."""
        return bool(self.report.checked or self.report.deferred)

    async def _nothing_left(self) -> bool:
        """Whether no URL is left for this run, claimable now or not."""
        return not await asyncio.to_thread(self.claims.remaining, due_by=self._due_by(),
                                           unchecked_since=self.started)

    def _others_shedding(self, holding: int) -> bool:
        """Whether this checker, holding `holding` hosts, is below its fair part while the
        others held more than theirs at the last look-up (`_rebalance`): they are
        letting the surplus go, to it."""
        if self.cap is None or holding >= min(self.cap, self.hosts_at_once):
            return False
        return self.others_held > (self.checkers - 1) * self.cap

    async def _await_release(self, workers: Collection[asyncio.Task[None]] = ()
                             ) -> set[asyncio.Task[None]]:
        """Wait until another checker lets a host go (the hosts held by others fall in
        number), one of `workers` ends, or POLL_SECONDS pass, whichever is first; when
        nobody else holds a host (the ones left may not be asked yet), POLL_SECONDS or a
        worker's end. Returns the workers that ended."""
        until = time.monotonic() + POLL_SECONDS
        held = await asyncio.to_thread(self.claims.held_by_others)
        # Nobody holds a host, and the caller holds none either: what was left when it last
        # asked may have been let go since, with its results (a host's last write and its
        # release are one transaction). If so the run is over: asked again now, not a
        # POLL_SECONDS sleep later (at the end of a run that was a quarter second, in about
        # one run of three, added to the checker that finished first).
        if not held and not workers and await self._nothing_left():
            return set()
        poll = RELEASE_POLL_FIRST
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return set()
            pause = left if not held else min(poll, left)
            poll = min(poll * 1.5, RELEASE_POLL)
            if workers:
                done, _ = await asyncio.wait(workers, timeout=pause,
                                             return_when=asyncio.FIRST_COMPLETED)
                if done:
                    return done
            else:
                await asyncio.sleep(pause)
            if not held:
                return set()
            now_held = await asyncio.to_thread(self.claims.held_by_others)
            if now_held < held:
                return set()
            held = now_held

    async def _rebalance(self, *, now: bool = False) -> None:
        """Every SHARE_SECONDS (or `now`): say this checker is alive, learn its fair part of
        the hosts (the hosts with work left over the live checkers), and if it holds more
        than that while its own concurrency is what limits it (it holds as many hosts as
        it can keep busy), stop starting URLs on the surplus hosts with the most URLs
        left: their checks in flight finish, their results are written and the hosts let
        go, and a checker that came later (or holds less) claims them with the rest of
        their URLs. Without this, the first checker to start, when its concurrency covers
        every host, holds them all to the end and the others wait.

        A checker that holds fewer hosts than it could keep busy lets none go: each of its
        hosts is already asked as fast as politeness allows, so another checker would
        check them no sooner, and the hand-over (the checks in flight waited for, the
        host's soft-404 probe asked again) would only cost time. That is the end of a
        run, when the hosts left are fewer than the checkers could take between them."""
        moment = time.monotonic()
        if not now and moment - self.share_seen < SHARE_SECONDS:
            return
        self.share_seen = moment
        hosts = self.hosts_left
        if hosts is not None and (moment - self.counted_at >= RECOUNT_SECONDS
                                  or hosts <= 2 * self.checkers * self.hosts_at_once):
            hosts = None  # count again
        share = await asyncio.to_thread(self.claims.fair_share, due_by=self._due_by(),
                                        unchecked_since=self.started, hosts=hosts)
        if hosts is None and share.hosts is not None:
            self.counted_at = moment
        self.cap, self.hosts_left, self.checkers = share.part, share.hosts, share.checkers
        self.others_held = share.held_by_others
        keeping = [host for host in self.left if host not in self.shedding]
        if self.cap is None or len(keeping) <= self.cap or len(keeping) < self.hosts_at_once:
            return
        keeping.sort(key=lambda host: self.left[host], reverse=True)
        surplus = keeping[:len(keeping) - self.cap]
        self.shedding.update(surplus)
        log.info("link checker %s holds %d hosts, its fair part is %d: letting %d go",
                 self.share.holder, len(keeping), self.cap, len(surplus))

    def _claim(self, hosts: int) -> list[HostClaim]:
        per_host = per_host_batch(self.settings)
        if self.share.limit is not None:
            per_host = min(per_host, self.share.limit - self.claimed)
        claims = self.claims.claim(hosts=hosts, per_host=per_host, due_by=self._due_by(),
                                   unchecked_since=self.started)
        kept = []
        for claim in claims:
            if claim.urls:
                self.claimed += len(claim.urls)
                self.held.add(claim.host)
                kept.append(claim)
            else:  # checked by someone else between the look and the claim
                self.claims.release(claim.host, claim.not_before)
        return kept

    async def _renew(self) -> None:
        every = max(0.5, self.settings.linkcheck_claim_seconds / 3)
        while True:
            await asyncio.sleep(every)
            held = set(self.held)
            lost = held - await asyncio.to_thread(self.claims.renew, held)
            for host in lost:
                log.warning("link claim on %s ran out before its batch was done", host)

    async def _work(self, checker: LinkChecker, claim: HostClaim) -> None:
        """Check one claimed host's batch (or, if asked to let it go, the part started by
        then), record it while held, let the host go."""
        host = claim.host
        checker.hold_off(host, claim.not_before)
        pending: list[CheckResult] = []
        released = False
        self.left[host] = len(claim.urls)
        tick = time.monotonic() // self.record_seconds
        try:
            async for result in checker.check_host(claim.urls, lambda: host in self.shedding):
                self.left[host] -= 1
                self._count(result)
                pending.append(result)
                # Not after the batch's last result: that one goes with the release below
                # (flushed here, it left the release a transaction of its own).
                if self.left[host] and (len(pending) >= RECORD_EVERY
                                        or time.monotonic() // self.record_seconds != tick):
                    tick = time.monotonic() // self.record_seconds
                    await self._flush(host, pending)
            # No more renewals: the claim outlasts this last write by far (a renewal was at
            # most a third of its life ago), and one would race the release it carries.
            self.held.discard(host)
            self.claimed -= self.left[host]  # let go unchecked: the next holder's to check
            released = await self._flush(host, pending, release=True,
                                         not_before=checker.next_allowed(host))
        except ClaimLost as exc:
            log.warning("link results for %s dropped: %s", host, exc)
        finally:
            self.held.discard(host)
            self.left.pop(host, None)
            self.shedding.discard(host)
            checker.let_go(host)
            if not released:
                await asyncio.shield(asyncio.to_thread(
                    self.claims.release, host, checker.next_allowed(host)))

    def _count(self, result: CheckResult) -> None:
        if result.deferred:
            self.report.deferred += 1
        else:
            self.report.checked += 1
            self.report.by_status[result.status] += 1
        if self.on_result is not None:
            self.on_result(result)

    async def _flush(self, host: str, pending: list[CheckResult], *, release: bool = False,
                     not_before: datetime | None = None) -> bool:
        """Have `pending` written (and with `release` the host let go in that transaction);
        whether anything was written."""
        batch = list(pending)
        pending.clear()  # recorded or fenced out: either way never offered again
        if not batch:
            return False
        done: asyncio.Future[list[tuple[bool, LinkState]]] = \
            asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(host, batch, done, release, not_before))
        self.wake.set()
        changes = await done  # ClaimLost, or the fence's LeaseLost, raised here
        for was_dead, state in changes:
            if state.dead and not was_dead:
                self.report.newly_dead.append(state.url)
            if was_dead and not state.dead:
                self.report.recovered.append(state.url)
        return True


    async def _recorder(self) -> None:
        """Write the waiting batches, several hosts' at a time, until cancelled."""
        while True:
            await self.wake.wait()
            slow = self.gapped or self.record_seconds > RECORD_SECONDS
            if (slow or not any(waiting.release for waiting in self.waiting)) \
                    and sum(len(waiting.batch) for waiting in self.waiting) < RECORD_MAX:
                await asyncio.sleep(self.record_gather)  # the other hosts' batches of this tick
            taken: list[_Waiting] = []
            size = 0
            while self.waiting and (not taken or size + len(self.waiting[0].batch) <= RECORD_MAX):
                taken.append(self.waiting.popleft())
                size += len(taken[-1].batch)
            if not self.waiting:
                self.wake.clear()
            if not taken:
                continue
            self._pace(size)
            try:
                outcomes = await asyncio.to_thread(self._record, taken)
            except Exception as exc:  # noqa: BLE001 - LeaseLost, a store error: raised by each waiter
                outcomes = [exc] * len(taken)
            for waiting, outcome in zip(taken, outcomes, strict=True):
                if waiting.done.done():
                    continue
                if isinstance(outcome, Exception):
                    waiting.done.set_exception(outcome)
                else:
                    waiting.done.set_result(outcome)

    def _pace(self, results: int) -> None:
        """Count `results` handed to a recorder; every RATE_WINDOW, set the tick to what
        RECORD_MAX results take at the rate of that window (see RECORD_SECONDS_MOST)."""
        self.rate_results += results
        now = time.monotonic()
        if now - self.rate_since < RATE_WINDOW:
            return
        rate = self.rate_results / (now - self.rate_since)
        self.rate_since, self.rate_results = now, 0
        self.record_seconds = record_tick(rate, self.shortest_tick)

    def _record(self, taken: list[_Waiting]) -> list[list[tuple[bool, LinkState]] | Exception]:
        """In a store thread: the batches in one transaction, fenced by all their hosts; if
        one host was lost, each batch alone, so that only the lost hosts' results drop."""
        if len(taken) > 1:
            try:
                changes = self.links.record_changes(
                    [result for waiting in taken for result in waiting.batch], self.rules,
                    fence=self.fence, claims=[self.claims.fence(w.host) for w in taken],
                    released={w.host: w.not_before for w in taken if w.release})
            except ClaimLost:
                pass
            else:
                split: list[list[tuple[bool, LinkState]] | Exception] = []
                for waiting in taken:
                    split.append(changes[:len(waiting.batch)])
                    changes = changes[len(waiting.batch):]
                return split
        outcomes: list[list[tuple[bool, LinkState]] | Exception] = []
        for waiting in taken:
            try:
                outcomes.append(self.links.record_changes(
                    waiting.batch, self.rules, fence=self.fence,
                    claim=self.claims.fence(waiting.host),
                    released={waiting.host: waiting.not_before} if waiting.release else None))
            except ClaimLost as exc:
                outcomes.append(exc)
        return outcomes


def run_shared_check(settings: Settings, store: Store, share: Share, *,
                     resolver: Resolver | None = None,
                     on_result: Callable[[CheckResult], None] | None = None,
                     fence: Fence | None = None, snapshot: bool = True) -> LinkRunReport:
    """Check this process's share of the URLs; record every result while its host is held
    (and, with the clock's `fence`, while its lease is held too). `snapshot`: record
    today's counts afterwards (the leader's and the CLI's job; a standby leaves it)."""
    shared = _SharedRun(settings, store, share, resolver=resolver, on_result=on_result, fence=fence)
    started = time.perf_counter()
    try:
        with _switch_interval(None if shared.gapped else SWITCH_INTERVAL):
            eventloop.run(shared.run())
        if snapshot:
            shared.links.snapshot(utcnow(), fence=fence)
    finally:
        shared.report.duration_s = time.perf_counter() - started
    return shared.report


@contextmanager
def _switch_interval(seconds: float | None) -> Iterator[None]:
    """The interpreter's thread switch interval set for a while (it is the whole
    process's: a clock's other threads switch as often meanwhile, which costs them
    little; see `interpreter.set_for_a_while`). None: unchanged."""
    if seconds is None:
        yield
        return
    with set_for_a_while(sys.getswitchinterval, sys.setswitchinterval, seconds):
        yield
