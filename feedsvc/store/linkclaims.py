"""Link checkers share the due URLs, a host at a time.

Every clock process (and every `feedsvc links check`) checks links. What they
share is the host: a checker claims a few hosts at once (`SELECT ... FOR UPDATE
SKIP LOCKED` on their `link_hosts` rows, so two claims never wait for each other
nor take the same host), and with each host a small batch of its due URLs. A
claim lasts `ttl` seconds and is renewed while the checker works; a checker that
dies gives its hosts back when its claims run out. While a host is held, only its
holder talks to it, so the per-host limits (requests in flight, the gap between
two requests, `Retry-After`) are one process's business, exactly as they were
before, and hold across all processes. When a holder lets a host go, it leaves
`not_before` behind (its last request plus the gap, or a `Retry-After` that
outlasted its run) and no checker claims the host before then.

No checker holds more than its fair part of the hosts (`fair_share`: the hosts
with URLs left over the checkers at work, each of which keeps a row in
`link_checkers` alive while it checks); feedsvc.links.shared lets the surplus go.

Results are written only while their host is held (`holding`, in the same
transaction): a checker paused past its claim writes nothing when it wakes.

SQLite has no row locks: there the claim is a plain transaction, and one checker
process at a time is what is supported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    String,
    bindparam,
    delete,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection

from feedsvc.errors import ClaimLost
from feedsvc.models import utcnow
from feedsvc.store import Store
from feedsvc.store.common import _utc, _utc_or_none, one_of
from feedsvc.store.tables import link_checkers, link_hosts, links
from feedsvc.store.upsert import dialect_insert, insert_ignoring_duplicates

CANDIDATES_PER_HOST = 4  # hosts looked at per host wanted: some will have been taken meanwhile


@dataclass(frozen=True, slots=True)
class HostFence:
    """A write that counts only while `holder` holds `host` (see `holding`)."""

    host: str
    holder: str
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)


@dataclass(frozen=True, slots=True)
class HostClaim:
    """One claimed host: the URLs to check there, and when it may first be asked."""

    host: str
    urls: tuple[str, ...]
    not_before: datetime | None


# The statements every write of results runs, built once: building one cost SQLAlchemy
# more than executing it (0.2-0.3 ms of CPU each).
_HELD = (link_hosts.c.host == bindparam("b_host")) & (link_hosts.c.holder == bindparam("b_holder")) \
    & (link_hosts.c.held_until >= bindparam("b_now"))
_LOCK_CLAIM = update(link_hosts).where(_HELD).values(holder=link_hosts.c.holder)
_COUNT_CLAIM = select(func.count()).select_from(link_hosts).where(_HELD)


@cache
def _lock_claims(dialect: str) -> Executable:
    """`check_claims`' statement."""
    return update(link_hosts).where(
        one_of(link_hosts.c.host, "b_hosts", dialect), link_hosts.c.holder == bindparam("b_holder"),
        link_hosts.c.held_until >= bindparam("b_now")) \
        .values(holder=link_hosts.c.holder).returning(link_hosts.c.host)


_RELEASE = update(link_hosts).where(link_hosts.c.host == bindparam("b_host"),
                                    link_hosts.c.holder == bindparam("b_holder")) \
    .values(holder=None, held_until=None, not_before=bindparam("b_not_before"))


def check_claim(conn: Connection, claim: HostFence | None, *, lock: bool = True) -> None:
    """Inside a write transaction: raise ClaimLost (rolling it back) unless the claim holds.

    With `lock`, a no-op UPDATE of the host's row, which takes its lock: a checker that
    claims the host after the claim ran out commits before this check (and fails it) or
    after this transaction."""
    if claim is None:
        return
    values = {"b_host": claim.host, "b_holder": claim.holder, "b_now": _utc(claim.clock())}
    if lock:
        found = conn.execute(_LOCK_CLAIM, values).rowcount
    else:
        found = conn.execute(_COUNT_CLAIM, values).scalar() or 0
    if not found:
        raise ClaimLost(f"{claim.holder} no longer holds host {claim.host!r}; the results "
                        "were rolled back")


@contextmanager
def holding(conn: Connection, claim: HostFence | None) -> Iterator[None]:
    """Check `claim` around the caller's writes in `conn`, as `fenced` checks a lease: the
    host's row locked last on PostgreSQL (never across the writes), first on SQLite."""
    lock_first = conn.dialect.name == "sqlite"
    check_claim(conn, claim, lock=lock_first)
    yield
    if not lock_first:
        check_claim(conn, claim)


def check_claims(conn: Connection, claims: Sequence[HostFence]) -> None:
    """`check_claim` (locking) for several hosts of one holder in one statement: raise
    ClaimLost unless every one still holds. The rows are locked in key order (an IN list
    on the primary key is scanned in order), as `renew` locks them: no deadlock."""
    if not claims:
        return
    holders = {claim.holder for claim in claims}
    hosts = sorted({claim.host for claim in claims})
    if len(holders) != 1:
        raise ValueError("claims of one holder at a time")
    now = _utc(claims[0].clock())
    values = {"b_hosts": hosts, "b_holder": holders.pop(), "b_now": now}
    held = set(conn.execute(_lock_claims(conn.dialect.name), values).scalars())
    lost = [host for host in hosts if host not in held]
    if lost:
        raise ClaimLost(f"{claims[0].holder} no longer holds {', '.join(map(repr, lost[:5]))}; "
                        "the results were rolled back")


@contextmanager
def holding_all(conn: Connection, claims: Sequence[HostFence]) -> Iterator[None]:
    """`holding` for several hosts at once (one transaction with several hosts' results)."""
    if len(claims) <= 1:
        with holding(conn, claims[0] if claims else None):
            yield
    elif conn.dialect.name == "sqlite":  # no row locks: checked first, as `holding` does
        for claim in claims:
            check_claim(conn, claim)
        yield
    else:
        yield
        check_claims(conn, claims)


def release_with(conn: Connection, holder: str, released: Mapping[str, datetime | None]) -> None:
    """`LinkClaims.release` of several hosts inside the transaction that writes their last
    results (after their claims were checked): one transaction for both, not two."""
    if not released:
        return
    conn.execute(_RELEASE, [{"b_host": host, "b_holder": holder, "b_not_before": not_before}
                            for host, not_before in sorted(released.items())])


def eligible(*, every_url: bool) -> ColumnElement[bool]:
    """The URLs a run takes on: active, not checked since the run began (`b_since`, by
    anyone), and, unless every URL is wanted (`links check --all`), due by `b_due`."""
    condition = links.c.active & (links.c.checked_at.is_(None)
                                  | (links.c.checked_at < bindparam("b_since")))
    if not every_url:
        condition = condition & (links.c.next_check_at <= bindparam("b_due"))
    return condition


def _wanted(due_by: datetime | None, unchecked_since: datetime) -> dict[str, object]:
    """The parameters of `eligible` (`due_by` None: every URL)."""
    return {"b_since": unchecked_since, "b_due": due_by}


# Hosts held by a live claim (anyone's, ours included) or not to be asked yet, and the
# opposite, spelled without NOT (NOT of a NULL comparison is NULL); at `b_now`.
_BUSY = (link_hosts.c.holder.is_not(None) & (link_hosts.c.held_until >= bindparam("b_now"))) \
    | (link_hosts.c.not_before.is_not(None) & (link_hosts.c.not_before > bindparam("b_now")))
_FREE = (link_hosts.c.holder.is_(None) | link_hosts.c.held_until.is_(None)
         | (link_hosts.c.held_until < bindparam("b_now"))) \
    & (link_hosts.c.not_before.is_(None) | (link_hosts.c.not_before <= bindparam("b_now")))


class _RunStatements(NamedTuple):
    """What a run asks of the due links, built once per kind of run (see _LOCK_CLAIM)."""

    candidates: Executable  # up to `b_limit` hosts with wanted URLs, not busy, most overdue first
    take: Executable  # up to `b_limit` free hosts among `b_hosts`, locked
    hold: Executable  # `b_hosts` taken by `b_holder` until `b_until`
    batches: Executable  # up to `b_per_host` wanted URLs of each of `b_hosts`, most overdue first
    hosts_left: Executable  # how many hosts have wanted URLs
    any_left: Executable  # whether any URL is wanted


def _batches_statement(wanted: ColumnElement[bool], dialect: str) -> Executable:
    """Up to `b_per_host` wanted URLs of each of `b_hosts`, most overdue first: one statement
    for all the hosts of a claim, not one per host (a claim of a few hundred hosts was as
    many round trips before the first was checked). On PostgreSQL each host's URLs are
    read from the `links_host` index in order, up to the limit (a lateral join): a window
    over all the wanted URLs of the hosts ranked every one of them first, 24-26 ms of a
    claim of 100 hosts with 50 URLs each. Elsewhere that window."""
    if dialect == "postgresql":
        hosts = func.unnest(bindparam("b_hosts", type_=ARRAY(String))) \
            .table_valued("host").render_derived(name="h")
        each = select(links.c.url, links.c.next_check_at).where(links.c.host == hosts.c.host, wanted) \
            .order_by(links.c.next_check_at, links.c.url).limit(bindparam("b_per_host")).lateral("l")
        return select(hosts.c.host, each.c.url).select_from(hosts.join(each, true())) \
            .order_by(hosts.c.host, each.c.next_check_at, each.c.url)
    ranked = select(links.c.host, links.c.url, func.row_number().over(
        partition_by=links.c.host, order_by=(links.c.next_check_at, links.c.url)).label("n")) \
        .where(one_of(links.c.host, "b_hosts", dialect), wanted).subquery()
    return select(ranked.c.host, ranked.c.url).where(ranked.c.n <= bindparam("b_per_host")) \
        .order_by(ranked.c.host, ranked.c.n)


@cache
def _run_statements(every_url: bool, dialect: str) -> _RunStatements:
    wanted = eligible(every_url=every_url)
    among = one_of(link_hosts.c.host, "b_hosts", dialect)
    candidates = select(links.c.host) \
        .where(wanted, links.c.host.not_in(select(link_hosts.c.host).where(_BUSY))) \
        .group_by(links.c.host).order_by(func.min(links.c.next_check_at), links.c.host) \
        .limit(bindparam("b_limit"))
    take = select(link_hosts.c.host, link_hosts.c.not_before).where(among, _FREE) \
        .order_by(link_hosts.c.host).limit(bindparam("b_limit")).with_for_update(skip_locked=True)
    hold = update(link_hosts).where(among) \
        .values(holder=bindparam("b_holder"), held_until=bindparam("b_until"))
    return _RunStatements(candidates, take, hold, _batches_statement(wanted, dialect),
                          select(func.count(links.c.host.distinct())).where(wanted),
                          select(exists().where(wanted)))


class FairShare(NamedTuple):
    """A checker's fair part of the hosts (None: it is the only checker at work), and what it
    was computed from: the hosts with URLs left (None when not counted) and the live
    checkers, this one included; and the hosts the others hold now (0 when alone)."""

    part: int | None
    hosts: int | None
    checkers: int
    held_by_others: int = 0


class LinkClaims:
    """One checker's claims on hosts (`holder` names it; `ttl` is how long a claim lasts)."""

    def __init__(self, store: Store, holder: str, ttl: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = store.engine
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock

    def fence(self, host: str) -> HostFence:
        return HostFence(host, self.holder, self.clock)

    def claim(self, *, hosts: int, per_host: int, due_by: datetime | None,
              unchecked_since: datetime) -> list[HostClaim]:
        """Claim up to `hosts` free hosts with URLs to check (most overdue first), and up to
        `per_host` of each one's URLs. Hosts another checker holds are skipped, not waited
        for."""
        now = _utc(self.clock())
        run = _run_statements(due_by is None, self.engine.dialect.name)
        wanted = _wanted(due_by, unchecked_since)
        with self.engine.connect() as conn:
            candidates = sorted(conn.execute(run.candidates, {
                **wanted, "b_now": now, "b_limit": hosts * CANDIDATES_PER_HOST}).scalars())
        if not candidates:
            return []
        with self.engine.begin() as conn:  # rows for hosts never claimed before, in key order
            _insert_new_hosts(conn, candidates)
        claims: list[HostClaim] = []
        with self.engine.begin() as conn:
            taken = list(conn.execute(run.take, {"b_hosts": candidates, "b_now": now,
                                                 "b_limit": hosts}))
            if not taken:
                return []
            held = [row.host for row in taken]
            conn.execute(run.hold, {"b_hosts": held, "b_holder": self.holder,
                                    "b_until": now + self.ttl})
            batches: dict[str, list[str]] = {}
            for host, url in conn.execute(run.batches, {**wanted, "b_hosts": held,
                                                        "b_per_host": per_host}):
                batches.setdefault(host, []).append(url)
            for row in taken:
                claims.append(HostClaim(row.host, tuple(batches.get(row.host, ())),
                                        _utc_or_none(row.not_before)))
        return claims

    def renew(self, hosts: Iterable[str]) -> set[str]:
        """Extend the claims on these hosts; the ones still held (a claim that ran out and
        was taken is not taken back)."""
        wanted = sorted(hosts)
        if not wanted:
            return set()
        now = _utc(self.clock())
        mine = link_hosts.c.holder == self.holder
        with self.engine.begin() as conn:
            conn.execute(update(link_hosts).where(link_hosts.c.host.in_(wanted), mine,
                                                  link_hosts.c.held_until >= now)
                         .values(held_until=now + self.ttl))
            return set(conn.execute(select(link_hosts.c.host).where(
                link_hosts.c.host.in_(wanted), mine, link_hosts.c.held_until >= now)).scalars())

    def release(self, host: str, not_before: datetime | None) -> None:
        """Let the host go, leaving when it may next be asked (None: at once)."""
        with self.engine.begin() as conn:
            conn.execute(_RELEASE, {"b_host": host, "b_holder": self.holder,
                                    "b_not_before": not_before})

    def fair_share(self, *, due_by: datetime | None, unchecked_since: datetime,
                   hosts: int | None = None) -> FairShare:
        """Say this checker is alive (for `ttl`), and return its fair part of the hosts:
        the hosts with URLs still to check in this run over the live checkers, rounded up;
        None when it is the only one (then its own concurrency is the only limit, and the
        hosts are not counted: a lone checker pays nothing for sharing). `hosts`: a recent
        count to use instead of counting again (a scan of the due links)."""
        now = _utc(self.clock())
        with self.engine.begin() as conn:
            conn.execute(_alive_statement(conn.dialect.name),
                         {"b_holder": self.holder, "b_until": now + self.ttl})
            others = int(conn.execute(_OTHER_CHECKERS, {"b_holder": self.holder, "b_now": now})
                         .scalar() or 0)
            if not others:
                return FairShare(None, None, 1)
            if hosts is None:
                hosts = int(conn.execute(_run_statements(due_by is None, conn.dialect.name).hosts_left,
                                         _wanted(due_by, unchecked_since)).scalar() or 0)
            held = _held_by_others(conn, self.holder, now)
        return FairShare(max(1, -(-hosts // (others + 1))), hosts, others + 1, held)

    def retire(self) -> None:
        """This checker takes on nothing more: it no longer counts in the others' shares."""
        with self.engine.begin() as conn:
            conn.execute(delete(link_checkers).where(link_checkers.c.holder == self.holder))

    def held_by_others(self) -> int:
        """How many hosts other checkers hold now: a small table's count, cheap to ask often
        (a checker with nothing to claim watches it fall to know when a host is let go)."""
        with self.engine.connect() as conn:
            return _held_by_others(conn, self.holder, _utc(self.clock()))

    def live_checkers(self) -> list[str]:
        """The checkers at work now (their holder names), this one included if it is."""
        now = _utc(self.clock())
        with self.engine.connect() as conn:
            return sorted(conn.execute(select(link_checkers.c.holder).where(
                link_checkers.c.seen_until >= now)).scalars())

    def remaining(self, *, due_by: datetime | None, unchecked_since: datetime) -> bool:
        """Whether any URL is still to be checked in this run, claimable now or not."""
        with self.engine.connect() as conn:
            return bool(conn.execute(_run_statements(due_by is None, conn.dialect.name).any_left,
                                     _wanted(due_by, unchecked_since)).scalar())


# Asked every few tenths of a second by every checker: built once (see _LOCK_CLAIM).
_OTHER_CHECKERS = select(func.count()).select_from(link_checkers).where(
    link_checkers.c.holder != bindparam("b_holder"), link_checkers.c.seen_until >= bindparam("b_now"))
_HELD_BY_OTHERS = select(func.count()).select_from(link_hosts).where(
    link_hosts.c.holder.is_not(None), link_hosts.c.holder != bindparam("b_holder"),
    link_hosts.c.held_until >= bindparam("b_now"))


@cache
def _new_hosts_statement(dialect: str) -> Executable:
    """`claim`'s rows for hosts never claimed before, built once per database: on
    PostgreSQL from one array of the hosts (a row a statement was 9-12 ms of a claim's
    first 400 candidates), elsewhere a row a parameter set."""
    if dialect == "postgresql":
        hosts = select(func.unnest(bindparam("b_hosts", type_=ARRAY(String))))
        return dialect_insert(dialect, link_hosts).from_select(["host"], hosts).on_conflict_do_nothing()
    return insert_ignoring_duplicates(dialect, link_hosts)


def _insert_new_hosts(conn: Connection, hosts: list[str]) -> None:
    """Rows for those of `hosts` never claimed before (`_new_hosts_statement`)."""
    statement = _new_hosts_statement(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        conn.execute(statement, {"b_hosts": hosts})
    else:
        conn.execute(statement, [{"host": host} for host in hosts])


@cache
def _alive_statement(dialect: str) -> Executable:
    """`fair_share`'s "this checker is alive until ...", an upsert built once per database."""
    upsert = dialect_insert(dialect, link_checkers).values(
        holder=bindparam("b_holder"), seen_until=bindparam("b_until"))
    return upsert.on_conflict_do_update(index_elements=[link_checkers.c.holder],
                                        set_={"seen_until": upsert.excluded.seen_until})


def _held_by_others(conn: Connection, holder: str, now: datetime) -> int:
    return int(conn.execute(_HELD_BY_OTHERS, {"b_holder": holder, "b_now": now}).scalar() or 0)
