"""Leader election between clock processes, and ending a stale leader's sessions."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from feedsvc.errors import ConnectionEnded, LeaseLost, StoreUnavailable
from feedsvc.logs import log_event
from feedsvc.models import utcnow
from feedsvc.store.common import StoreBase, _since, _utc, log
from feedsvc.store.engine import LOCK_NOT_AVAILABLE, lock_timeout_for, session_label
from feedsvc.store.fencing import Fence, check_fence
from feedsvc.store.tables import leases


class LeasesMixin(StoreBase):
    """Leases: claims, renewals, releases, and what a takeover ends."""

    def claim_lease(self, name: str, holder: str, ttl: float, now: datetime) -> int | None:
        """Take or renew the lease; the epoch `holder` holds it at until now + ttl, or None.

        A renewal (the holder's own lease, not yet expired) keeps the epoch; every
        acquisition (a free, released or expired lease, the holder's own included)
        bumps it, so a job that started under an older epoch is fenced out even when
        the same process got the lease back. Conditional UPDATEs decide between
        competing processes (the row is locked by whichever commits first); an INSERT
        race on the very first acquisition is settled by the primary key.

        A claim never waits long and never leaves the old leader in the way (a row
        still locked after all that raises StoreUnavailable: the claim could not tell):
        * on PostgreSQL it waits at most `lock_timeout_for(ttl)` for the row. Only a
          process frozen or cut off inside a transaction holds the row longer; when
          its lease has run out, its sessions are ended and the claim is made again;
        * a takeover ends the replaced holder's sessions that are inside a transaction
          (a frozen leader's half-written publish would otherwise hold the rows the new
          leader's first publish writes);
        * the expiry counts from when the claim succeeded, not from `now`: a claim
          that waited must not commit a lease that has already run out.
        """
        started = time.monotonic()
        try:
            claim = self._claim_once(name, holder, ttl, _utc(now), started)
        except ConnectionEnded:
            # The server ended the pooled session between the pool's check and the claim
            # (a restart, pg_terminate_backend): once more on a new connection. A claim
            # is one transaction, and a renewal or re-acquisition by the same holder
            # gives the same answer if the lost one did commit.
            claim = self._claim_once(name, holder, ttl, _utc(now), started)
        if claim is None:
            stale = self._expired_holder(name, holder, _utc(now) + _since(started))
            if stale is not None and self.end_sessions_of(stale):
                claim = self._claim_once(name, holder, ttl, _utc(now), started)
        if claim is None:
            # Not "someone else holds it" (that is an answer: None) but "cannot tell now":
            # a leader whose lease has not run out keeps it, as through any store error.
            raise StoreUnavailable(f"the store is unavailable: lease {name!r} stayed locked for "
                                   f"{lock_timeout_for(ttl):g} s by a session still within its lease")
        epoch, replaced = claim
        if epoch is not None and replaced:
            self.end_sessions_of(replaced)
        return epoch

    def _claim_once(self, name: str, holder: str, ttl: float, now: datetime,
                    started: float) -> tuple[int | None, str | None] | None:
        """One claim: (the epoch or None, the holder it replaced if any), or None when
        the lease row stayed locked past the lock timeout (PostgreSQL)."""
        mine = (leases.c.name == name) & (leases.c.holder == holder)
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_for(ttl) * 1000)}"))
                before = conn.execute(select(leases.c.holder).where(leases.c.name == name)).first()
                renewed = conn.execute(update(leases).where(mine, leases.c.expires_at >= now)
                                       .values(expires_at=now + timedelta(seconds=ttl))).rowcount
                took = not renewed and conn.execute(update(leases).where(
                    leases.c.name == name, (leases.c.expires_at < now) | (leases.c.holder == ""),
                ).values(holder=holder, epoch=leases.c.epoch + 1)).rowcount
                if renewed or took:
                    conn.execute(update(leases).where(mine).values(
                        expires_at=now + _since(started) + timedelta(seconds=ttl)))
                    epoch: int | None = conn.execute(select(leases.c.epoch).where(mine)).scalar()
                    replaced = before.holder if took and before is not None else None
                    return epoch, replaced if replaced not in ("", holder) else None
                if before is not None:
                    return None, None
                conn.execute(insert(leases).values(
                    name=name, holder=holder, epoch=1,
                    expires_at=now + _since(started) + timedelta(seconds=ttl)))
                return 1, None
        except IntegrityError:
            return None, None
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                return None
            raise

    def _expired_holder(self, name: str, holder: str, now: datetime) -> str | None:
        """The holder of lease `name` when it is another process whose lease has run out
        (read without waiting for the row's lock), else None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(leases.c.holder, leases.c.expires_at)
                               .where(leases.c.name == name)).first()
        if row is None or row.holder in ("", holder) or _utc(row.expires_at) >= now:
            return None
        return str(row.holder)

    def label_sessions(self, holder: str) -> None:
        """Name this process's PostgreSQL sessions after its lease holder (`session_label`),
        so that the clock that replaces it can end them. Open sessions are closed, so
        every session from now on carries the name."""
        self._session_label = session_label(holder)
        self.engine.dispose()

    def end_sessions_of(self, holder: str) -> list[int]:
        """End `holder`'s PostgreSQL sessions that are inside a transaction; their pids.

        Called for a holder whose lease has run out: what such a session is doing can
        only be a stale job's write, which its fence would refuse anyway, and it may
        hold row locks for as long as its process stays frozen (no server timeout ends
        a session that stopped in the middle of a statement). Ending another session
        needs the same database role, or `pg_signal_backend`: without it, this logs
        why and ends nothing, and the takeover waits for the server's timeouts."""
        if self.engine.dialect.name != "postgresql":
            return []
        try:
            with self.engine.begin() as conn:
                rows = conn.execute(text(
                    "SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
                    " WHERE application_name = :label AND datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"),
                    {"label": session_label(holder)}).all()
        except (ProgrammingError, OperationalError, StoreUnavailable) as exc:
            log_event(log, "lease_sessions_not_ended", logging.WARNING, holder=holder,
                      error=str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300],
                      fix="give every clock the same database role, or grant it pg_signal_backend")
            return []
        ended = [int(row.pid) for row in rows if row.ended]
        if ended:
            log_event(log, "lease_sessions_ended", logging.WARNING, holder=holder,
                      pids=",".join(map(str, ended)),
                      reason="its lease ran out while it was inside a transaction")
        return ended

    def fence_holds(self, fence: Fence) -> bool:
        """Whether `fence`'s lease is still held (a read: it locks nothing)."""
        try:
            with self.engine.connect() as conn:
                check_fence(conn, fence, lock=False)
        except LeaseLost:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (the row stays, with its epoch, so epochs never repeat)."""
        with self.engine.begin() as conn:
            conn.execute(update(leases).where(leases.c.name == name, leases.c.holder == holder)
                         .values(holder="", expires_at=_utc(utcnow())))

    def lease(self, name: str) -> tuple[str, datetime] | None:
        """(holder, expiry) of the lease, or None when nobody ever took it or it was released."""
        with self.engine.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).first()
        return (row.holder, _utc(row.expires_at)) if row and row.holder else None

    def lease_epoch(self, name: str) -> int:
        """The lease's latest epoch (0 when never taken): how many acquisitions so far."""
        with self.engine.connect() as conn:
            value = conn.execute(select(leases.c.epoch).where(leases.c.name == name)).scalar()
        return int(value or 0)
