"""Rate-limit token buckets (feedsvc.web.ops.ratelimit), one row per client.

Every worker process and every machine draws on the same bucket: one atomic
upsert per request refills, decides and charges in a single statement, so two
workers can never both spend the last token.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import case, delete, update
from sqlalchemy.engine import Engine

from feedsvc.store.tables import rate_buckets
from feedsvc.store.upsert import dialect_insert

NOT_MODIFIED_COST = 0.1  # what a 304 costs; a client may always afford that much
PRUNE_EVERY = 60.0


class StoreRateLimiter:
    """Token buckets in the store, shared by every process that uses it."""

    def __init__(self, engine: Engine, per_minute: float, burst: float, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._last_prune = float("-inf")

    def admit(self, key: str, cost: float) -> float:
        """Charge `cost` if the client may make a request now; return 0 when it may, else
        the seconds to wait. One statement: refill, decide and charge at once."""
        now = self.clock()
        table = rate_buckets
        refilled = table.c.tokens + (now - table.c.updated) * self.rate
        refill = case((refilled > self.burst, self.burst), else_=refilled)
        values = dialect_insert(self.engine.dialect.name, table).values(
            key=key, tokens=self.burst - cost, updated=now, allowed=True)
        statement = values.on_conflict_do_update(index_elements=[table.c.key], set_={
            # A client low on tokens may still ask for 304s: a tenth is enough to be let in.
            "tokens": case((refill >= NOT_MODIFIED_COST, refill - cost), else_=refill),
            "allowed": refill >= NOT_MODIFIED_COST,
            "updated": now,
        }).returning(table.c.tokens, table.c.allowed)
        with self.engine.begin() as conn:
            tokens, allowed = conn.execute(statement).one()
            if now - self._last_prune > PRUNE_EVERY:
                self._last_prune = now
                # A bucket idle long enough to be full again is the same as no bucket.
                full_after = self.burst / self.rate if self.rate > 0 else 86400.0
                conn.execute(delete(table).where(table.c.updated < now - full_after))
        if allowed:
            return 0.0
        return max(0.001, (NOT_MODIFIED_COST - float(tokens)) / self.rate)

    def adjust(self, key: str, extra: float) -> None:
        """Charge `extra` more (or refund, when negative) after the response."""
        table = rate_buckets
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.key == key).values(tokens=table.c.tokens - extra))
