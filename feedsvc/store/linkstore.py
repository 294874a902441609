"""Link state in the store: which URLs the published articles use, what each check found.

The tables live in the same database as the feeds (see feedsvc.store), so
the clock, the CLI and every web process share them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from feedsvc.links.hosts import host_of
from feedsvc.links.policy import LinkRules, LinkState, apply_result
from feedsvc.models import DEAD, Article, LinkStatus
from feedsvc.store import (
    Fence,
    Store,
    _put_state,
    _utc,
    bump_counter,
    fenced,
    in_batches,
    insert_ignoring_duplicates,
    insert_many,
    link_articles,
    link_checks,
    link_stats,
    links,
    ops_counters,
    state,
)
from feedsvc.store.common import _utc_or_none, one_of
from feedsvc.store.dates import remember_dates
from feedsvc.store.upsert import dialect_insert

if TYPE_CHECKING:  # httpx, which the checker imports, is 0.5 s off a build's start-up
    from feedsvc.content.renames import PublishedArticle  # the content package: 0.14 s
    from feedsvc.links.checker import CheckResult
    from feedsvc.store.linkclaims import HostFence  # only checking claims hosts

HISTORY_PER_URL = 20
LINKS_VERSION = "links_version"  # an ops_counters row
STATE_COLUMNS = ("status", "code", "final_url", "permanent_redirect", "error", "checked_at",
                 "consecutive_failures", "first_failure_at", "next_check_at", "checks", "dead")


@dataclass(frozen=True, slots=True)
class LinkedArticle:
    article_id: str
    title: str
    source: str
    published: datetime
    summary: str = ""
    outlet: str | None = None
    image: str | None = None
    topics: tuple[str, ...] = ()


# What the live article page shows, kept per (url, article) and updated when the article changes.
SHOWN_COLUMNS = ("title", "source", "published", "summary", "outlet", "image", "topics")


def _shown(article: Article) -> dict[str, Any]:
    return {"title": article.title, "source": article.source, "published": article.published,
            "summary": article.summary or None,
            "outlet": article.provider.name if article.provider else None,
            "image": article.image.url if article.image else None,
            "topics": ",".join(article.topics) or None}


def _comparable(row: Row[Any]) -> tuple[Any, ...]:
    """A stored row's shown fields as `_shown` gives them (SQLite returns naive datetimes)."""
    return tuple(_utc(row.published) if name == "published" else getattr(row, name)
                 for name in SHOWN_COLUMNS)


def _linked(row: Row[Any]) -> LinkedArticle:
    return LinkedArticle(row.article_id, row.title, row.source, _utc(row.published),
                         row.summary or "", row.outlet, row.image,
                         tuple(row.topics.split(",")) if row.topics else ())


_STATUSES = {str(status): status for status in LinkStatus}  # a stored status, typed


# What `_state` reads, in its order: every query of link states selects these columns.
STATE_SELECT = (links.c.url, *(links.c[name] for name in STATE_COLUMNS))


def _state(row: Sequence[Any]) -> LinkState:
    """A link's state from a row of STATE_SELECT (by position: recording a batch reads a
    state per result, and a getattr per column was a tenth of that)."""
    (url, status, code, final_url, permanent, error, checked_at, failures, first_failure,
     next_check_at, checks, dead) = row
    return LinkState(url, _STATUSES.get(status) or LinkStatus(status), code, final_url,
                     permanent, error, _utc_or_none(checked_at), failures,
                     _utc_or_none(first_failure), _utc_or_none(next_check_at), checks, dead)


def rank_of(status: LinkStatus | str, dead: bool) -> int:
    """Where a link is listed: dead ones first, then from the worst status to the best.
    Stored with the row (`links.rank`) so that SQL sorts and pages with an index; each
    (dead, status) pair has its own rank, so a status filter is a set of ranks."""
    rank = _RANKS.get((status, dead))  # recording ranks three states per result: no enum call
    if rank is None:
        rank = (0 if dead else 100) + (10 - LinkStatus(status).order)
    return rank


_RANKS: dict[tuple[str, bool], int] = {}
_RANKS.update({(str(s), dead): rank_of(s, dead) for s in LinkStatus for dead in (False, True)})


def ranks_for(statuses: Iterable[str]) -> list[int]:
    """The ranks a status filter selects (`dead` selects every dead link)."""
    wanted = set(statuses)
    return sorted({rank_of(s, dead) for s in LinkStatus.in_order() for dead in (False, True)
                   if not wanted or str(s) in wanted or (DEAD in wanted and dead)})


def _row(state: LinkState) -> dict[str, object]:
    return {**{name: getattr(state, name) for name in STATE_COLUMNS},
            "rank": rank_of(state.status, state.dead)}


class LinkStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def register(self, articles: Iterable[Article], now: datetime, *,
                 fence: Fence | None = None) -> int:
        """Make the links table match the published articles; return how many URLs are new.

        URLs no longer used by any article become inactive (kept, with their
        history, in case the article comes back) and are no longer checked.

        Safe when several processes register at once (two clocks' builds, a build and a
        `links check` reading the content): a row another one inserted after this one
        looked is left as it is (first writer wins; both derive it from the same article
        and URL), where a plain INSERT would fail the whole registration.
        """
        wanted: dict[tuple[str, str], Article] = {
            (a.original_url, a.id): a for a in articles if a.original_url and not a.self_published}
        with fenced(self.engine, fence) as conn:
            existing = {(row.url, row.article_id): _comparable(row) for row in conn.execute(
                select(link_articles.c.url, link_articles.c.article_id,
                       *(link_articles.c[name] for name in SHOWN_COLUMNS)))}
            stale = set(existing) - set(wanted)
            at = SHOWN_COLUMNS.index("published")
            remember_dates(conn, {article_id: existing[(url, article_id)][at]
                                  for url, article_id in stale})
            for url, article_id in stale:
                conn.execute(delete(link_articles).where(and_(
                    link_articles.c.url == url, link_articles.c.article_id == article_id)))
            fresh = insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, link_articles), (
                {"url": u, "article_id": i, **_shown(a)}
                for (u, i), a in wanted.items() if (u, i) not in existing))
            for (url, article_id), article in wanted.items():  # an edited title, summary, image...
                if (url, article_id) not in existing:
                    continue
                shown = _shown(article)
                if existing[(url, article_id)] != tuple(shown[n] for n in SHOWN_COLUMNS):
                    conn.execute(update(link_articles).where(and_(
                        link_articles.c.url == url, link_articles.c.article_id == article_id))
                        .values(**shown))
            known: dict[str, bool] = {url: active for url, active in conn.execute(  # noqa: C416
                select(links.c.url, links.c.active))}  # Row pairs, typed for mypy
            used = {url for url, _ in wanted}
            new_urls = sorted(used - set(known))
            unchecked = rank_of(LinkStatus.UNCHECKED, False)
            insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, links), ({
                "url": url, "status": LinkStatus.UNCHECKED, "code": None, "final_url": None,
                "permanent_redirect": False, "error": None, "checked_at": None,
                "consecutive_failures": 0, "first_failure_at": None, "next_check_at": now,
                "checks": 0, "dead": False, "active": True, "host": host_of(url),
                "rank": unchecked} for url in new_urls))
            revive = [url for url, active in known.items() if url in used and not active]
            retire = [url for url, active in known.items() if url not in used and active]
            for url_list, active in ((revive, True), (retire, False)):
                for urls in in_batches(url_list):
                    conn.execute(update(links).where(links.c.url.in_(urls)).values(active=active))
            if new_urls or revive or retire or stale or fresh:
                links_changed(conn)
        return len(new_urls)

    def flagged(self) -> list[LinkState]:
        """Active URLs that can change a feed: dead ones and permanent redirects."""
        with self.engine.connect() as conn:
            return [_state(row) for row in conn.execute(select(*STATE_SELECT).where(
                links.c.active, (links.c.dead | links.c.permanent_redirect)))]

    def due(self, now: datetime, limit: int | None = None) -> list[str]:
        """Active URLs whose next check is due, most overdue first."""
        query = (select(links.c.url).where(links.c.active, links.c.next_check_at <= now)
                 .order_by(links.c.next_check_at, links.c.url))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def due_count(self, now: datetime) -> int:
        """How many active URLs are due for a check (what the next run would take on)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(links).where(
                links.c.active, links.c.next_check_at <= now)).scalar() or 0)

    def last_checked_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(links.c.checked_at))).scalar()
        return _utc_or_none(value)

    def active_urls(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(links.c.url).where(links.c.active)
                                     .order_by(links.c.url)).scalars())

    def states(self, urls: Iterable[str] | None = None, *, active_only: bool = True) -> dict[str, LinkState]:
        query = select(*STATE_SELECT)
        if active_only:
            query = query.where(links.c.active)
        with self.engine.connect() as conn:
            if urls is None:
                return {state.url: state for state in map(_state, conn.execute(query))}
            wanted = list(urls)
            found: dict[str, LinkState] = {}
            for chunk in in_batches(wanted):
                for row in conn.execute(query.where(links.c.url.in_(chunk))):
                    state = _state(row)
                    found[state.url] = state
            return found

    def record(self, results: Iterable[CheckResult], rules: LinkRules, *,
               fence: Fence | None = None, claim: HostFence | None = None,
               claims: Sequence[HostFence] = ()) -> list[LinkState]:
        """Fold check results into each URL's state and history (with a `fence`, only while
        its lease is held; with a `claim`, only while this checker holds the host, with
        `claims`, all those hosts: LeaseLost, or ClaimLost, rolls the whole batch back)."""
        return [state for _, state in self.record_changes(results, rules, fence=fence,
                                                          claim=claim, claims=claims)]

    def record_changes(self, results: Iterable[CheckResult], rules: LinkRules, *,
                       fence: Fence | None = None,
                       claim: HostFence | None = None,
                       claims: Sequence[HostFence] = (),
                       released: Mapping[str, datetime | None] | None = None,
                       ) -> list[tuple[bool, LinkState]]:
        """`record`, returning with each new state whether the link was dead before it: what
        a run reports as newly dead or recovered, without reading the states beforehand.
        `claims`: several hosts' results at once, written only if every host is still held
        (ClaimLost otherwise, the whole batch rolled back). `released`: hosts among them
        whose batch this ends, let go in the same transaction (see `release_with`)."""
        results = list(results)
        updated: list[tuple[bool, LinkState]] = []
        if not results:
            return updated
        from feedsvc.store.linkclaims import holding_all, release_with

        held = [claim] if claim is not None else list(claims)
        with fenced(self.engine, fence) as conn:
            with holding_all(conn, held):
                self._fold(conn, results, rules, updated)
            if released and held:
                release_with(conn, held[0].holder, released)
        return updated

    def _fold(self, conn: Connection, results: list[CheckResult], rules: LinkRules,
              updated: list[tuple[bool, LinkState]]) -> None:
        """Apply `results` to the stored rows, counts and history, appending to `updated`."""
        current: dict[str, LinkState] = {}
        active: dict[str, bool] = {}
        urls = [r.url for r in results]
        for row in _states_of(conn, urls):
            state = current[row[1]] = _state(row[1:])
            active[state.url] = row[0]
        changes: list[tuple[str, dict[str, object]]] = []  # (url, its new row's values)
        fresh: list[dict[str, object]] = []
        shifts: Counter[int] = Counter()  # active URLs per rank: what this batch moved
        for result in results:
            old = current.get(result.url)
            state = apply_result(old, result, rules)
            current[result.url] = state
            updated.append((old is not None and old.dead, state))
            values = _row(state)
            new_rank = rank_of(state.status, state.dead)
            if result.url in active:
                changes.append((result.url, values))
                if active[result.url] and old is not None:
                    shifts[rank_of(old.status, old.dead)] -= 1
                    shifts[new_rank] += 1
            else:
                fresh.append({"url": result.url, "active": True, "host": host_of(result.url),
                              **values})
                active[result.url] = True
                shifts[new_rank] += 1
        self._write_states(conn, changes, fresh, results)
        _trim_history(conn, sorted(set(urls)))
        links_changed(conn, shifts)

    @staticmethod
    def _write_states(conn: Connection, changes: list[tuple[str, dict[str, object]]],
                      fresh: list[dict[str, object]], results: list[CheckResult]) -> None:
        """The batch's rows and history lines, each kind in one executemany."""
        for chunk in in_batches(fresh):  # first: a later result for one of them updates it
            conn.execute(insert(links), list(chunk))
        if changes and conn.dialect.name == "postgresql":
            _update_states_pg(conn, changes)
            _insert_history_pg(conn, results)
            return
        if changes:
            columns = (*STATE_COLUMNS, "rank")
            conn.execute(update(links).where(links.c.url == bindparam("b_url"))
                         .values({name: bindparam(f"b_{name}") for name in columns}),
                         [{"b_url": url, **{f"b_{k}": v for k, v in values.items()}}
                          for url, values in changes])
        conn.execute(insert(link_checks), _history_rows(results))

    def history(self, urls: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = list(urls)
        found: dict[str, list[dict[str, Any]]] = {url: [] for url in wanted}
        with self.engine.connect() as conn:
            for chunk in in_batches(wanted):
                rows = conn.execute(select(link_checks).where(link_checks.c.url.in_(chunk))
                                    .order_by(link_checks.c.checked_at.desc(), link_checks.c.id.desc()))
                for row in rows:
                    found[row.url].append({
                        "checked_at": _utc(row.checked_at).isoformat(), "status": row.status,
                        "code": row.code, "error": row.error, "final_url": row.final_url,
                        "elapsed_ms": row.elapsed_ms})
        return found

    def articles(self, urls: Iterable[str]) -> dict[str, list[LinkedArticle]]:
        wanted = list(urls)
        found: dict[str, list[LinkedArticle]] = {url: [] for url in wanted}
        with self.engine.connect() as conn:
            for chunk in in_batches(wanted):
                rows = conn.execute(select(link_articles).where(
                    link_articles.c.url.in_(chunk)).order_by(link_articles.c.source))
                for row in rows:
                    found[row.url].append(_linked(row))
        return found

    def snapshot(self, now: datetime, *, fence: Fence | None = None) -> None:
        """Record today's counts by status (one row per day and status) for the trend chart.

        Upserted, not deleted and inserted again: two checkers that finish together
        (`links check` in two processes) both write the day's rows, and the second
        insert met the first's rows. The last writer's counts stand."""
        day = _utc(now).date().isoformat()
        counts = self.counts()
        with fenced(self.engine, fence) as conn:
            conn.execute(delete(link_stats).where(link_stats.c.day == day,
                                                  link_stats.c.status.not_in(list(counts))))
            if counts:
                upsert = dialect_insert(conn.dialect.name, link_stats)
                conn.execute(upsert.on_conflict_do_update(
                    index_elements=[link_stats.c.day, link_stats.c.status],
                    set_={"count": upsert.excluded.count}),
                    [{"day": day, "status": s, "count": n} for s, n in counts.items()])

    def daily_counts(self, days: int = 60) -> list[tuple[date, dict[str, int]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(link_stats).order_by(link_stats.c.day.desc())
                                .limit(days * 8)).all()
        by_day: dict[str, dict[str, int]] = {}
        for day, status, count in rows:
            by_day.setdefault(day, {})[status] = int(count)
        return [(date.fromisoformat(d), by_day[d]) for d in sorted(by_day)[-days:]]

    def article_by_stem(self, stem: str) -> tuple[LinkedArticle, str] | None:
        """The article whose file is named `stem` (any folder, any extension), and its URL."""
        pattern = "%" + stem.replace("\\", "").replace("%", "").replace("_", "\\_") + ".%"
        with self.engine.connect() as conn:
            rows = conn.execute(select(link_articles).where(
                link_articles.c.source.like(pattern, escape="\\")).order_by(link_articles.c.source)).all()
        for row in rows:
            name = row.source.rsplit("/", 1)[-1]
            if name.rsplit(".", 1)[0] == stem:
                return _linked(row), row.url
        return None

    def counts(self) -> dict[str, int]:
        """Active URLs by status, plus how many are dead."""
        return counts_from_ranks(self.rank_counts())

    def rank_counts(self) -> dict[int, int]:
        """Active URLs per rank, as the writer recorded them with its last change (one row
        read: counting 100k rows costs tens of milliseconds, too much per request or
        scrape); counted afresh for a store that has no record yet."""
        with self.engine.connect() as conn:
            raw = conn.execute(select(state.c.value).where(state.c.key == RANK_COUNTS)).scalar()
            if raw is None:
                return _count_ranks(conn)
        return {int(rank): int(n) for rank, n in json.loads(raw).items()}

    def version(self) -> int:
        """Changes whenever link rows change (a check run, a build registering URLs): what
        the web's cached link pages are keyed on."""
        with self.engine.connect() as conn:
            value = conn.execute(select(ops_counters.c.value)
                                 .where(ops_counters.c.name == LINKS_VERSION)).scalar()
        return int(value or 0)

    def page(self, statuses: Iterable[str], offset: int, limit: int | None,
             rank_counts: dict[int, int] | None = None) -> tuple[list[LinkState], int]:
        """One page of active links in listing order (worst first, then by URL) and the
        total that match: filtered, sorted and paged in SQL, one rank at a time, so every
        query walks the `links_rank` index and skips whole ranks by their counts."""
        counts = self.rank_counts() if rank_counts is None else rank_counts
        wanted = [r for r in ranks_for(statuses) if counts.get(r)]
        total = sum(counts[r] for r in wanted)
        found: list[LinkState] = []
        skip = offset
        with self.engine.connect() as conn:
            for rank in wanted:
                if limit is not None and len(found) >= limit:
                    break
                if skip >= counts[rank]:
                    skip -= counts[rank]
                    continue
                query = (select(*STATE_SELECT).where(links.c.active, links.c.rank == rank)
                         .order_by(links.c.url).offset(skip))
                if limit is not None:
                    query = query.limit(limit - len(found))
                found.extend(_state(row) for row in conn.execute(query))
                skip = 0
        return found, total


def counts_from_ranks(rank_counts: dict[int, int]) -> dict[str, int]:
    """Active URLs by status, plus how many are dead, from the per-rank counts."""
    by_status: Counter[str] = Counter()
    dead = 0
    for status in LinkStatus.in_order():
        for is_dead in (False, True):
            n = rank_counts.get(rank_of(status, is_dead), 0)
            by_status[str(status)] += n
            dead += n if is_dead else 0
    return {**{str(s): by_status[str(s)] for s in LinkStatus.in_order()}, DEAD: dead}


RANK_COUNTS = "link_rank_counts"  # a `state` row: {rank: active URLs}


def _count_ranks(conn: Connection) -> dict[int, int]:
    return {int(rank): int(n) for rank, n in conn.execute(
        select(links.c.rank, func.count()).where(links.c.active).group_by(links.c.rank))}


def links_changed(conn: Connection, shifts: Counter[int] | None = None) -> None:
    """In the transaction that changed link rows (this module's, or a benchmark's that
    writes `links` directly): bump the version the web's link pages
    are cached under, and record the per-rank counts once for every reader.

    With `shifts` (what the transaction moved between ranks, as `record` knows it), the
    stored counts are adjusted instead of counted afresh: counting reads every active
    row, which every batch of results from every checker cannot afford at 100k links.
    The stored row is locked first, so concurrent checkers' adjustments queue up; a
    batch that moved nothing between ranks (a working link found working again, what
    most re-checks are) leaves it alone: two statements fewer, and no lock that every
    checker's transactions would queue on."""
    bump_counter(conn, LINKS_VERSION)
    if shifts is not None and not any(shifts.values()):
        return
    counts: dict[int, int] | None = None
    if shifts is not None:
        raw = conn.execute(_LOCK_RANK_COUNTS).scalar()
        if raw is not None:
            counts = Counter({int(rank): int(n) for rank, n in json.loads(raw).items()})
            counts.update(shifts)
            counts = {rank: n for rank, n in counts.items() if n > 0}
    if counts is None:
        counts = _count_ranks(conn)
    _put_state(conn, RANK_COUNTS, json.dumps({str(r): n for r, n in sorted(counts.items())}))


# The batch's link rows in one statement, from one JSON parameter: psycopg's executemany
# sends and binds each row on its own, which was most of what recording a result cost, and
# an array parameter a column (what replaced it) was still dumped element by element in
# Python, each text element searched for characters to quote: a tenth of a shared
# checker's CPU. orjson writes the whole batch in C. Spelled out (not built from the
# column list): the record's column types are what the planner needs.
_UPDATE_STATES_SQL = text("""
UPDATE links SET status = v.status, code = v.code, final_url = v.final_url,
    permanent_redirect = v.permanent_redirect, error = v.error, checked_at = v.checked_at,
    consecutive_failures = v.consecutive_failures, first_failure_at = v.first_failure_at,
    next_check_at = v.next_check_at, checks = v.checks, dead = v.dead, rank = v.rank
FROM json_to_recordset(CAST(:rows AS json))
    AS v(url text, status text, code int, final_url text, permanent_redirect bool, error text,
         checked_at timestamptz, consecutive_failures int, first_failure_at timestamptz,
         next_check_at timestamptz, checks int, dead bool, rank int)
WHERE links.url = v.url
""")
_INSERT_HISTORY_SQL = text("""
INSERT INTO link_checks (url, checked_at, status, code, error, final_url, elapsed_ms)
SELECT v.url, v.checked_at, v.status, v.code, v.error, v.final_url, v.elapsed_ms
FROM json_to_recordset(CAST(:rows AS json))
    AS v(url text, checked_at timestamptz, status text, code int, error text, final_url text,
         elapsed_ms int)
""")


def _json_rows(rows: list[dict[str, object]]) -> str:
    """A batch's rows as one JSON parameter. orjson writes an aware datetime as ISO 8601
    with its offset, as timestamptz reads it, in C: json.dumps called back into Python for
    each of the four datetimes a row has, and that was a third of recording's CPU."""
    return orjson.dumps(rows).decode()


def _update_states_pg(conn: Connection, changes: list[tuple[str, dict[str, object]]]) -> None:
    """`_write_states`' UPDATE on PostgreSQL; a URL twice in a batch keeps its last state
    (each state already folds in the earlier results), as the row-by-row UPDATE did."""
    last = dict(changes)
    rows = [{"url": url, **values} for url, values in last.items()]
    conn.execute(_UPDATE_STATES_SQL, {"rows": _json_rows(rows)})


def _history_rows(results: list[CheckResult]) -> list[dict[str, object]]:
    """A `link_checks` row per result, as both databases' inserts take them."""
    return [{"url": r.url, "checked_at": r.checked_at, "status": r.status, "code": r.code,
             "error": r.error, "final_url": r.final_url, "elapsed_ms": r.elapsed_ms}
            for r in results]


def _insert_history_pg(conn: Connection, results: list[CheckResult]) -> None:
    """`_write_states`' history lines on PostgreSQL, in order, in one statement."""
    conn.execute(_INSERT_HISTORY_SQL,
                 {"rows": _json_rows(_history_rows(results))})


# `_fold`'s read and `links_changed`'s lock, built once: building a statement cost
# SQLAlchemy more than executing it (0.2-0.3 ms of CPU each), and a shared checker's
# every write runs both.
_LOCK_RANK_COUNTS = select(state.c.value).where(state.c.key == RANK_COUNTS).with_for_update()


@cache
def _states_statement(dialect: str) -> Select[Any]:
    return select(links.c.active, *STATE_SELECT).where(one_of(links.c.url, "b_urls", dialect))


def _states_of(conn: Connection, urls: Sequence[str]) -> Iterator[Sequence[Any]]:
    """The `active` flag and the state of each of `urls` that has a row: on PostgreSQL in
    one statement (see `one_of`), each in one fetch, not a fetch per row."""
    statement = _states_statement(conn.dialect.name)
    chunks = [urls] if conn.dialect.name == "postgresql" else in_batches(urls)
    for chunk in chunks:
        yield from conn.execute(statement, {"b_urls": list(chunk)}).all()


# On PostgreSQL, each URL's lines past the newest HISTORY_PER_URL, read from the
# (url, checked_at) index one URL at a time: the window over every line of the batch's
# URLs (the form below, for SQLite) was planned as a scan of the whole history, and was
# two thirds of PostgreSQL's time recording a batch.
_TRIM_HISTORY_SQL = text("""
DELETE FROM link_checks WHERE id IN (
    SELECT old.id FROM unnest(CAST(:urls AS text[])) AS u(url)
    CROSS JOIN LATERAL (
        SELECT c.id FROM link_checks AS c WHERE c.url = u.url
        ORDER BY c.checked_at DESC, c.id DESC OFFSET :keep) AS old)
""")


def _trim_history(conn: Connection, urls: list[str]) -> None:
    """Keep each URL's newest HISTORY_PER_URL checks: one DELETE per batch of URLs, ranking
    their history with a window, instead of a query to find the URLs over the limit and a
    DELETE for each of them (hundreds of statements per batch once every URL has a full
    history, which is where a long-running store ends up)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_TRIM_HISTORY_SQL, {"urls": urls, "keep": HISTORY_PER_URL})
        return
    for chunk in in_batches(urls):
        conn.execute(_TRIM_HISTORY_BY_WINDOW, {"b_urls": list(chunk)})


# `_trim_history` elsewhere than on PostgreSQL: each URL's lines ranked by a window.
_RANKED_CHECKS = select(link_checks.c.id, func.row_number().over(
    partition_by=link_checks.c.url,
    order_by=(link_checks.c.checked_at.desc(), link_checks.c.id.desc())).label("n")) \
    .where(one_of(link_checks.c.url, "b_urls", "sqlite")).subquery()
_TRIM_HISTORY_BY_WINDOW = delete(link_checks).where(link_checks.c.id.in_(
    select(_RANKED_CHECKS.c.id).where(_RANKED_CHECKS.c.n > HISTORY_PER_URL)))


def published_articles(store: Store) -> list[PublishedArticle]:
    """Every published article with an original URL, as the last build registered it:
    what `feedsvc check` compares the content with to catch renames."""
    with store.engine.connect() as conn:
        from feedsvc.content.renames import PublishedArticle  # not at import: see above

        return [PublishedArticle(row.article_id, row.url, row.source) for row in conn.execute(
            select(link_articles.c.article_id, link_articles.c.url, link_articles.c.source))]
