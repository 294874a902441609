"""Backups of the one part of the store that cannot be rebuilt: link history.

Everything else in the store is derived from the content: generations, blobs
and reports are rebuilt by the next build. What a build cannot recreate is
what the link checker learnt over weeks (each URL's state, its checks, the
daily counts behind the trend chart) and the dates recorded for undated
articles (`article_dates`: lose them and those entries move in every feed).

A backup is itself a small SQLite store at the source's schema revision,
holding only those tables, read in one snapshot from a live store (SQLite or
PostgreSQL) without blocking the clock. Because it carries its revision, a
backup made before an upgrade is upgraded (a copy of it) when it is restored,
and because it is a SQLite file, it also moves link history from SQLite to
PostgreSQL. Restoring replaces those tables' rows in one transaction.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from feedsvc.errors import FeedsvcError, StoreSchemaMismatch
from feedsvc.store import Store, engine_for
from feedsvc.store.common import SQL_BATCH
from feedsvc.store.schema import BASELINE, schema_status, sqlite_transaction_engine, upgrade

__all__ = ["HISTORY_TABLES", "BackupError", "backup_history", "history_counts", "restore_history"]

# The tables a build cannot recreate. A new table of that kind (anything learnt over
# time rather than derived from the content) belongs here too.
HISTORY_TABLES = ("links", "link_articles", "link_checks", "link_stats", "article_dates")


class BackupError(FeedsvcError):
    """A backup cannot be written or read as asked (exists already, not a backup...)."""


def _utc(value: Any) -> Any:
    """Datetimes as aware UTC, whichever side is which: SQLite hands back naive UTC, and
    PostgreSQL would read a naive value in its session's time zone."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


@contextmanager
def _snapshot(url: str, timeout: float) -> Iterator[Connection]:
    """A read transaction that sees one committed state of every table, blocking no writer."""
    sqlite = url.startswith("sqlite")
    engine = sqlite_transaction_engine(url, timeout, begin="BEGIN") if sqlite else engine_for(url, timeout)
    try:
        with engine.connect() as conn:
            if not sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
    finally:
        engine.dispose()


def _copy(source: Connection, target: Connection) -> dict[str, int]:
    """Copy the history tables' rows, by the columns both sides have (reflected)."""
    src, dst = MetaData(), MetaData()
    src.reflect(source, only=HISTORY_TABLES)
    dst.reflect(target, only=HISTORY_TABLES)
    counts: dict[str, int] = {}
    for name in HISTORY_TABLES:
        table_in: Table = src.tables[name]
        table_out: Table = dst.tables[name]
        columns = [c.name for c in table_in.columns if c.name in table_out.columns]
        result = source.execution_options(stream_results=True, yield_per=SQL_BATCH).execute(
            select(*(table_in.c[c] for c in columns)))
        counts[name] = 0
        for rows in result.partitions(SQL_BATCH):
            target.execute(insert(table_out), [{c: _utc(v) for c, v in zip(columns, row, strict=True)}
                                               for row in rows])
            counts[name] += len(rows)
    return counts


def backup_history(store: Store, path: Path) -> dict[str, int]:
    """Write the store's link history to a new SQLite file at `path`; rows per table."""
    if path.exists():
        raise BackupError(f"{path} exists already: a backup never overwrites a file")
    status = schema_status(store.engine)
    if status.ahead or status.empty:
        raise StoreSchemaMismatch(status.problem() or "the store is empty: nothing to back up")
    revision = status.current or BASELINE  # a store from before versioning is the baseline
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    url = f"sqlite:///{partial}"
    try:
        upgrade(url, revision, store.timeout)
        target = engine_for(url, store.timeout)
        try:
            with _snapshot(store.url, store.timeout) as source, target.begin() as out:
                counts = _copy(source, out)
        finally:
            target.dispose()
        _single_file(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _single_file(path: Path) -> None:
    """Fold the WAL into the file, so the backup is one file to copy away."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def restore_history(store: Store, path: Path) -> dict[str, int]:
    """Replace the store's link history with the backup's; rows per table.

    The store must be at this feedsvc's head; a backup at an older revision is
    upgraded first (a copy: the file itself is left as it was). Stop the clocks
    first: a link check finishing during the restore would be lost."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    target = schema_status(store.engine)
    if not target.up_to_date:
        raise StoreSchemaMismatch(target.problem() or f"the store is not at {target.head}")
    with tempfile.TemporaryDirectory(prefix="feedsvc-restore-") as work:
        copy = Path(work) / "backup.sqlite3"
        shutil.copyfile(path, copy)
        url = f"sqlite:///{copy}"
        probe = engine_for(url)
        try:
            status = schema_status(probe)
        finally:
            probe.dispose()
        if status.empty or status.current is None:
            raise BackupError(f"{path} is not a feedsvc backup (no schema revision in it)")
        if status.ahead:
            raise StoreSchemaMismatch(f"{path}: {status.problem()}")
        if not status.up_to_date:
            upgrade(url, "head", store.timeout)
        with _snapshot(url, store.timeout) as source, store.engine.begin() as conn:
            for name in reversed(HISTORY_TABLES):
                conn.execute(delete(_table(conn, name)))
            counts = _copy(source, conn)
            if conn.dialect.name == "postgresql":  # ids were copied: move the sequence past them
                conn.execute(text(
                    "SELECT setval(pg_get_serial_sequence('link_checks', 'id'), "
                    "COALESCE((SELECT MAX(id) FROM link_checks), 0) + 1, false)"))
    return counts


def _table(conn: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=conn)


def history_counts(store: Store) -> dict[str, int]:
    """Rows per history table: what a backup of this store would hold."""
    with store.engine.connect() as conn:
        return {name: int(conn.execute(select(func.count()).select_from(_table(conn, name))).scalar() or 0)
                for name in HISTORY_TABLES}
