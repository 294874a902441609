"""The one place that tells PostgreSQL from SQLite when writing: both spell
`INSERT ... ON CONFLICT` alike, from different SQLAlchemy modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from feedsvc.store.tables import ops_counters

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgreSQLInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert


def dialect_insert(dialect: str, table: Table) -> PostgreSQLInsert | SQLiteInsert:
    """An INSERT into `table` that can take ON CONFLICT clauses, for the store's database
    (`engine.dialect.name` or `conn.dialect.name`). The dialect modules are imported
    only here and only when used: a build that writes nothing does not pay for them."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite
        return sqlite.insert(table)
    raise NotImplementedError(dialect)  # pragma: no cover - only these two


def insert_ignoring_duplicates(dialect: str, table: Table) -> PostgreSQLInsert | SQLiteInsert:
    """An INSERT that leaves rows whose key exists as they are (first writer wins)."""
    return dialect_insert(dialect, table).on_conflict_do_nothing()


def bump_counter(conn: Connection, name: str, by: int = 1) -> None:
    """Add `by` to a counter inside the caller's transaction (an upsert: safe under races)."""
    statement = dialect_insert(conn.dialect.name, ops_counters).values(name=name, value=by)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[ops_counters.c.name], set_={"value": ops_counters.c.value + by}))
