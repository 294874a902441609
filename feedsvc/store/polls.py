"""Feed polls per feed and UTC day (feedsvc.web.ops.polls counts them in memory and
hands batches here): counts, salted distinct clients, aggregators' stated subscribers.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, case, delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from feedsvc.store.tables import poll_aggregators, poll_clients, poll_counts, state
from feedsvc.store.upsert import dialect_insert

ClientRow = tuple[str, str, str]  # day, path, salted client hash


def _upsert(conn: Connection, table: Any) -> Any:
    return dialect_insert(conn.dialect.name, table)


def daily_salt(conn: Connection, day: str) -> str:
    """The day's salt, shared by every web process (the first to ask makes it)."""
    key = f"poll_salt:{day}"
    conn.execute(_upsert(conn, state).values(key=key, value=secrets.token_hex(16))
                 .on_conflict_do_nothing())
    value = conn.execute(select(state.c.value).where(state.c.key == key)).scalar()
    return str(value)


def roll_up(conn: Connection, today: str) -> None:
    """Close the days before `today`: keep their distinct-client counts, delete their
    client hashes and salts (idempotent, cheap when there is nothing to do)."""
    counted = select(poll_clients.c.day, poll_clients.c.path, func.count().label("n")) \
        .where(poll_clients.c.day < today).group_by(poll_clients.c.day, poll_clients.c.path)
    for day, path, n in conn.execute(counted).all():
        conn.execute(update(poll_counts).where(poll_counts.c.day == day, poll_counts.c.path == path)
                     .values(clients=n))
    conn.execute(update(poll_counts).where(poll_counts.c.day < today, poll_counts.c.clients.is_(None))
                 .values(clients=0))
    conn.execute(delete(poll_clients).where(poll_clients.c.day < today))
    conn.execute(delete(state).where(state.c.key.like("poll\\_salt:%", escape="\\"),
                                     state.c.key < f"poll_salt:{today}"))


def write_polls(engine: Engine, today: str, *, roll: bool,
                polls: Mapping[tuple[str, str], Sequence[int]],
                clients: Callable[[str], list[ClientRow]],
                readers: Mapping[tuple[str, str, str], int]) -> list[ClientRow]:
    """Add one batch in one transaction: poll counts per (day, path), the distinct
    clients `clients(salt)` names with the day's salt, the largest subscriber count each
    aggregator stated. `roll`: close the days before `today` first. Returns the client
    rows written."""
    with engine.begin() as conn:
        if roll:
            roll_up(conn, today)
        for (day, path), (n, nm) in sorted(polls.items()):
            statement = _upsert(conn, poll_counts).values(day=day, path=path, polls=n,
                                                          not_modified=nm, clients=None)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[poll_counts.c.day, poll_counts.c.path],
                set_={"polls": poll_counts.c.polls + n,
                      "not_modified": poll_counts.c.not_modified + nm}))
        rows = clients(daily_salt(conn, today))
        for start in range(0, len(rows), 500):
            conn.execute(_upsert(conn, poll_clients).on_conflict_do_nothing(),
                         [{"day": d, "path": p, "client": c} for d, p, c in rows[start:start + 500]])
        for (day, path, reader), subs in sorted(readers.items()):
            statement = _upsert(conn, poll_aggregators).values(
                day=day, path=path, reader=reader, subscribers=subs)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[poll_aggregators.c.day, poll_aggregators.c.path,
                                poll_aggregators.c.reader],
                set_={"subscribers": case((poll_aggregators.c.subscribers < subs, subs),
                                          else_=poll_aggregators.c.subscribers)}))
    return rows


def read_poll_days(engine: Engine, days: Sequence[str], today: str
                   ) -> tuple[Sequence[Row[Any]], dict[str, int], Sequence[Row[Any]]]:
    """Poll counts of `days`, today's distinct clients per path, aggregators' counts."""
    with engine.connect() as conn:
        polls = conn.execute(select(poll_counts).where(poll_counts.c.day.in_(days))).all()
        live_clients: dict[str, int] = {path: int(n) for path, n in conn.execute(
            select(poll_clients.c.path, func.count()).where(poll_clients.c.day == today)
            .group_by(poll_clients.c.path))}
        readers = conn.execute(select(poll_aggregators).where(poll_aggregators.c.day.in_(days))).all()
    return polls, live_clients, readers
