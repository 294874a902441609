"""Fencing: every write a job makes commits only while its lease is held."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from feedsvc.errors import LeaseLost
from feedsvc.models import utcnow
from feedsvc.store.common import _utc
from feedsvc.store.tables import leases


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease a job runs under: every write the job makes checks, in its own
    transaction, that `holder` still holds lease `name` at `epoch` and that it has not
    expired. A paused process that lost its lease therefore writes nothing when it
    wakes, whatever it was in the middle of."""

    name: str
    holder: str
    epoch: int
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)


# Built once: every fenced write checks the lease, and building the statement cost
# SQLAlchemy more than executing it.
_HELD = (leases.c.name == bindparam("b_name")) & (leases.c.holder == bindparam("b_holder")) \
    & (leases.c.epoch == bindparam("b_epoch")) & (leases.c.expires_at >= bindparam("b_now"))
_LOCK_LEASE = update(leases).where(_HELD).values(epoch=leases.c.epoch)
_COUNT_LEASE = select(func.count()).select_from(leases).where(_HELD)


def check_fence(conn: Connection, fence: Fence | None, *, lock: bool = True) -> None:
    """Inside a write transaction: raise LeaseLost (rolling the transaction back) unless
    the fence's lease is still held.

    With `lock` (the default) a no-op UPDATE of the lease row, not a SELECT, so that it
    takes the row's lock (PostgreSQL) or the write lock (SQLite): a takeover commits
    either before this check (and fails it) or after this transaction. Without it a
    plain SELECT, which waits for nobody and locks nothing: an early way out for a
    stale process, not a guarantee. `fenced` puts the two in the right places."""
    if fence is None:
        return
    values = {"b_name": fence.name, "b_holder": fence.holder, "b_epoch": fence.epoch,
              "b_now": _utc(fence.clock())}
    if lock:
        found = conn.execute(_LOCK_LEASE, values).rowcount
    else:
        found = conn.execute(_COUNT_LEASE, values).scalar() or 0
    if not found:
        raise LeaseLost(f"lease {fence.name!r} epoch {fence.epoch} is no longer held by "
                        f"{fence.holder}; the write was rolled back")


@contextmanager
def fenced(engine: Engine, fence: Fence | None) -> Iterator[Connection]:
    """A write transaction that commits only while `fence`'s lease is held.

    The lease row is locked *last*, just before the commit, never across the
    transaction's own writes: a process frozen in the middle of a bulk write (SIGSTOP,
    a stalled VM, a connection cut without a FIN) then holds no lock that a standby
    needs to claim the lease, and the claim never waits on it. A takeover that commits
    before the final check fails it, one that comes after it waits only for the commit.
    SQLite has no row locks, and a deferred transaction that reads before it writes
    cannot take the write lock once another process has written (WAL's busy snapshot):
    there the locking check comes first, as the write lock is the whole database's
    anyway."""
    with engine.begin() as conn:
        lock_first = conn.dialect.name == "sqlite"
        check_fence(conn, fence, lock=lock_first)
        yield conn
        if not lock_first:
            check_fence(conn, fence)
