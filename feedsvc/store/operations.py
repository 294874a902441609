"""Operations: what the clocks did, kept in the store so that every web's /metrics and /status show it.

A clock process may run on another machine than any web, and several clocks
share one store, so their state is published where every web already looks:
the store. Counters (builds by status, leadership changes, WebSub pings and
failures, link-check runs) are rows of `ops_counters`, incremented in the
transaction that did the work, so they count every clock that ever ran and
survive restarts, as Prometheus counters should. Each clock also keeps a row
in `clock_processes` (leader or not, when last seen, how long the store took
to answer its last lease renewal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from feedsvc.store.common import JSONObject, StoreBase, _utc
from feedsvc.store.state import _put_state
from feedsvc.store.tables import CLOCK_LEASE, clock_processes, leases, links, ops_counters
from feedsvc.store.upsert import bump_counter

# The `state` row of the last link-check run (the link pages read it too).
LINK_RUN_STATE = "last_link_run"

FAILED = "failed"  # a build that raised: not a BuildStatus, it produced no report


@dataclass(frozen=True, slots=True)
class ClockRow:
    holder: str
    leader: bool  # holds the lease now, by the lease row itself
    started_at: datetime
    seen_at: datetime
    store_latency_s: float
    live: bool  # renewed its row within three of its own lease periods


class OperationsMixin(StoreBase):
    """Counters, clock rows and the link backlog, for every web's /metrics and /status."""

    def add_counters(self, **counts: int) -> None:
        """Add to several counters at once, in one transaction."""
        with self.engine.begin() as conn:
            for name, by in counts.items():
                if by:
                    bump_counter(conn, name, by)

    def counters(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {name: int(value) for name, value in conn.execute(
                select(ops_counters.c.name, ops_counters.c.value))}

    def record_build_failure(self, error: str, started_at: datetime) -> None:
        """A build that raised (the store went away mid-build, a bug): count it and keep it as
        the last failure, so /metrics and /status show it instead of the last good build."""
        report: JSONObject = {"status": FAILED, "started_at": _utc(started_at).isoformat(),
                              "error": error[:500]}
        with self.engine.begin() as conn:
            _put_state(conn, "last_failed_report", json.dumps(report, sort_keys=True))
            bump_counter(conn, f"builds:{FAILED}")

    def record_link_run(self, at: datetime, checked: int, duration_s: float, *,
                        next_at: datetime | None = None) -> None:
        """The `last_link_run` state row (when, how many, how long, the next run: read by
        /metrics, /status and the link pages) and the link-run counters."""
        record: dict[str, Any] = {"at": _utc(at).isoformat(), "checked": checked,
                                  "duration_s": round(duration_s, 3)}
        if next_at is not None:
            record["next_at"] = _utc(next_at).isoformat()
        value = json.dumps(record, sort_keys=True)
        with self.engine.begin() as conn:
            _put_state(conn, LINK_RUN_STATE, value)
            bump_counter(conn, "link_runs")
            bump_counter(conn, "links_checked", checked)

    def record_clock(self, holder: str, *, leader: bool, changed: bool, started_at: datetime,
                     now: datetime, latency_s: float, lease_seconds: float) -> None:
        """This clock's row (leader or not, seen now, its lease period); a change of
        leadership is counted."""
        values: dict[str, Any] = {"leader": leader, "seen_at": _utc(now),
                                  "store_latency_s": round(latency_s, 6), "lease_seconds": lease_seconds}
        with self.engine.begin() as conn:
            if not conn.execute(update(clock_processes).where(clock_processes.c.holder == holder)
                                .values(**values)).rowcount:
                conn.execute(insert(clock_processes).values(holder=holder, started_at=_utc(started_at),
                                                            **values))
            if changed and leader:
                bump_counter(conn, "leader_changes")
            # Clocks gone for a day are forgotten: their counts live on in ops_counters.
            forgotten = _utc(now) - timedelta(days=1)
            conn.execute(delete(clock_processes).where(clock_processes.c.seen_at < forgotten))

    def forget_clock(self, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(clock_processes).where(clock_processes.c.holder == holder)
                         .values(leader=False))

    def clocks(self, now: datetime, default_lease_seconds: float) -> list[ClockRow]:
        """Every clock's row, with leadership as the lease row says it now.

        A clock's own row says what it last believed; a clock killed outright never
        corrects it. The lease row is the truth every clock obeys: its holder leads
        until its expiry, so a dead leader stops counting as one within one lease
        period, and two clocks never both count as leader. A clock is live while it
        renewed its row within three of its own lease periods (rows from before the
        period was recorded: the caller's `default_lease_seconds`)."""
        now = _utc(now)
        with self.engine.connect() as conn:
            rows = conn.execute(select(clock_processes).order_by(clock_processes.c.holder)).all()
            lease = conn.execute(select(leases.c.holder, leases.c.expires_at)
                                 .where(leases.c.name == CLOCK_LEASE)).first()
        leading = lease.holder if lease is not None and _utc(lease.expires_at) >= now else None
        out = []
        for r in rows:
            stale_after = timedelta(seconds=3 * (r.lease_seconds or default_lease_seconds))
            out.append(ClockRow(r.holder, r.holder == leading, _utc(r.started_at), _utc(r.seen_at),
                                float(r.store_latency_s), now - _utc(r.seen_at) <= stale_after))
        return out

    def link_backlog(self, now: datetime, overdue_after: timedelta) -> tuple[int, int]:
        """Active URLs due for a check, and those due for longer than `overdue_after`
        (a run should have taken them by then: the checker is falling behind)."""
        now = _utc(now)
        with self.engine.connect() as conn:
            due = conn.execute(select(func.count()).select_from(links).where(
                links.c.active, links.c.next_check_at <= now)).scalar() or 0
            overdue = conn.execute(select(func.count()).select_from(links).where(
                links.c.active, links.c.next_check_at <= now - overdue_after)).scalar() or 0
        return int(due), int(overdue)
