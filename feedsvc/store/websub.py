"""The WebSub queue: one row per subscription feed whose ping has not been sent.

Rows are queued inside the publish transaction (`queue_pings`, through the
publish's `in_transaction` hook), claimed under the clock's fence, and settled
with the hub's answer (feedsvc.websub sends them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from feedsvc.models import utcnow
from feedsvc.store.common import StoreBase, WebSubBacklog, _utc
from feedsvc.store.fencing import Fence, fenced
from feedsvc.store.tables import websub_queue
from feedsvc.store.upsert import dialect_insert


@dataclass(frozen=True, slots=True)
class Ping:
    feed: str
    hub: str
    generation: int
    attempts: int


def queue_pings(conn: Connection, hub: str, feeds: Iterable[str], generation: int,
                now: datetime) -> int:
    """Queue a ping for each feed URL, inside the caller's transaction; return how many.
    A feed already queued keeps its row and its `queued_at` (pending since), now for
    this generation, due at once, its failure count reset."""
    now = _utc(now)
    rows = [{"feed": feed, "hub": hub, "generation": generation, "queued_at": now,
             "next_attempt_at": now, "attempts": 0, "last_error": None} for feed in feeds]
    if rows:
        queued = dialect_insert(conn.dialect.name, websub_queue)
        conn.execute(queued.on_conflict_do_update(index_elements=[websub_queue.c.feed], set_={
            "hub": queued.excluded.hub, "generation": queued.excluded.generation,
            "next_attempt_at": queued.excluded.next_attempt_at, "attempts": 0,
            "last_error": None}), rows)
    return len(rows)


def _same(ping: Ping) -> ColumnElement[bool]:
    """The row of this ping, unless a newer generation re-queued the feed since."""
    return and_(websub_queue.c.feed == ping.feed, websub_queue.c.generation == ping.generation)


class WebSubMixin(StoreBase):
    """The WebSub queue: claims, outcomes and its summary."""

    def claim_pings(self, now: datetime, hold_s: float, fence: Fence | None,
                    limit: int) -> list[Ping]:
        """Take the due pings for this run: under the fence (a clock that lost its lease
        sends nothing), pushing their next attempt past this run so that a run on another
        clock, should this one stall, does not send them twice meanwhile."""
        now = _utc(now)
        with fenced(self.engine, fence) as conn:
            rows = conn.execute(select(websub_queue).where(websub_queue.c.next_attempt_at <= now)
                                .order_by(websub_queue.c.next_attempt_at, websub_queue.c.feed)
                                .limit(limit)).all()
            pings = [Ping(r.feed, r.hub, r.generation, r.attempts) for r in rows]
            until = now + timedelta(seconds=hold_s)
            for ping in pings:
                conn.execute(update(websub_queue).where(_same(ping)).values(next_attempt_at=until))
        return pings

    def settle_pings(self, results: list[tuple[Ping, str | None]], now: datetime,
                     retry_after: Callable[[int], float]) -> None:
        """Record outcomes: an accepted ping's row goes, a failed one is retried after
        `retry_after(attempts)` seconds. Conditional on the generation, so a feed
        re-queued meanwhile is pinged again. Not fenced: these rows record what a hub
        was told, they decide nothing about what is published, and dropping them would
        only make another clock ping twice."""
        now = _utc(now)
        with self.engine.begin() as conn:
            for ping, error in results:
                if error is None:
                    conn.execute(websub_queue.delete().where(_same(ping)))
                else:
                    attempts = ping.attempts + 1
                    conn.execute(update(websub_queue).where(_same(ping)).values(
                        attempts=attempts, last_error=error[:500],
                        next_attempt_at=now + timedelta(seconds=retry_after(attempts))))

    def websub_backlog(self, now: datetime | None = None) -> WebSubBacklog:
        """The WebSub queue, for /metrics and /status: pings never tried yet (`pending`),
        pings that failed at least once and wait for a retry (`failing`), and the age
        in seconds of the oldest one (0 when the queue is empty)."""
        now = _utc(now or utcnow())
        with self.engine.connect() as conn:
            pending, failing, oldest = conn.execute(select(
                func.sum(case((websub_queue.c.attempts == 0, 1), else_=0)),
                func.sum(case((websub_queue.c.attempts > 0, 1), else_=0)),
                func.min(websub_queue.c.queued_at))).one()
        age = max(0.0, (now - _utc(oldest)).total_seconds()) if oldest is not None else 0.0
        return {"pending": int(pending or 0), "failing": int(failing or 0),
                "oldest_age_s": round(age, 3)}
