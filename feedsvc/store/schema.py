"""The store's schema version: what it is, whether this feedsvc can use it, upgrading it.

The schema is versioned with Alembic (revisions in `feedsvc/store/migrations/versions/`,
recorded in the store's `alembic_version` table). A store is in one of five
states, and each shell treats them the same way everywhere:

* **empty** (no feedsvc table): any writer creates it at head: its tables are
  made from `feedsvc/store/tables.py` in one pass and it is stamped at head,
  which is what running every migration makes (tests/test_schema.py holds the
  two to the same columns, defaults, keys, indexes and rows) in a fifth of the
  time and without importing Alembic: every new store, the first build's
  start among them;
* **current** (at this feedsvc's head): used as it is;
* **unversioned** (feedsvc's tables, no version: made before versioning): its
  tables are checked against the baseline revision, it is stamped at the
  baseline, then upgraded like any store that is behind;
* **behind** (an older revision): upgraded by `feedsvc db upgrade`, and by the
  writers (`build`, `clock`, `serve`, `links check`) on SQLite only, where one
  machine runs one feedsvc; the web never migrates and refuses to start;
* **ahead** (a revision this feedsvc does not know: a newer feedsvc upgraded
  it): nothing may use it; upgrade feedsvc or restore a backup.

Migrations run in one transaction that also holds the store's migration lock
(PostgreSQL: an advisory lock; SQLite: `BEGIN IMMEDIATE`), so two processes
upgrading at once run them once, and a failed migration leaves the store as it
was. SQLite gets a connection of its own for that: Python's sqlite3 commits
before DDL unless told to leave transactions alone, and foreign keys must be
off while batch mode rebuilds a table (dropping the old copy would otherwise
cascade deletes into the tables that refer to it); they are checked before the
commit instead.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url

from feedsvc.errors import StoreSchemaMismatch
from feedsvc.logs import log_event
from feedsvc.store.engine import on_connect

# Alembic is imported only to migrate, stamp or list revisions: importing it took
# half a second, and every `feedsvc build` checks the schema at start.
if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic announces each plugin and step at INFO (feedsvc.logs quiets it): an upgrade is
# logged once instead, as feedsvc's own `schema_upgraded` event.
log = logging.getLogger("feedsvc.store.schema")

BASELINE = "0001"
VERSION_TABLE = "alembic_version"
# Alembic's own table, as `alembic stamp` makes it: the upgrades that come later read it.
_VERSIONS = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                  PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
# pg_advisory_xact_lock key: any constant; this one spells "feedsvc" in ASCII.
PG_MIGRATION_LOCK = 0x66656564737663

__all__ = ["BASELINE", "SchemaStatus", "alembic_config", "head_revision", "history",
           "locked_migration_connection", "require_current", "schema_status", "upgrade"]


def alembic_config(connection: Connection | None = None) -> Config:
    """The configuration feedsvc's own migrations run with: the environment shipped in
    the package, and (when given) the connection env.py must use."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "feedsvc.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """Read once per process: the revision files do not change while it runs."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION_FILE = re.compile(r"r(\d{4})_\w+\.py")


@functools.cache
def known_revisions() -> tuple[str, ...]:
    """This feedsvc's revisions, oldest first, from the names of the revision files
    (`rNNNN_*.py`, revision id NNNN, each following the one before: tests/test_schema.py
    holds the names to what Alembic reads from the files), without importing Alembic."""
    return tuple(sorted(m.group(1) for m in map(_REVISION_FILE.fullmatch,
                                                 (p.name for p in VERSIONS.iterdir())) if m))


def head_revision() -> str:
    revisions = known_revisions()
    if not revisions:  # pragma: no cover - the package ships revision 0001
        raise RuntimeError("feedsvc's migrations have no revision")
    return revisions[-1]


def history() -> list[tuple[str, str | None, str]]:
    """(revision, the revision it follows, its first docstring line), oldest first."""
    rows = []
    for script in script_directory().walk_revisions():
        down = script.down_revision
        rows.append((script.revision, down if isinstance(down, str) or down is None else ",".join(down),
                     (script.doc or "").strip().splitlines()[0] if script.doc else ""))
    return list(reversed(rows))


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a store's schema stands relative to this feedsvc's migrations."""

    current: str | None  # the revision recorded in the store, None when none is
    head: str
    empty: bool  # no feedsvc table at all
    known: bool  # `current` is one of this feedsvc's revisions

    @property
    def unversioned(self) -> bool:
        return self.current is None and not self.empty

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def ahead(self) -> bool:
        return self.current is not None and not self.known

    @property
    def behind(self) -> bool:
        return self.unversioned or (self.known and not self.up_to_date)

    def shown(self) -> str:
        if self.empty:
            return "empty (no tables yet)"
        if self.unversioned:
            return "unversioned (made before schema versioning)"
        return str(self.current)

    def problem(self) -> str | None:
        """The one line that says why this feedsvc cannot use the store, or None."""
        if self.ahead:
            return (f"store schema is at {self.current}, newer than this feedsvc knows (it "
                    f"needs {self.head}): a newer feedsvc upgraded the store; run that version, "
                    f"or restore a backup made before the upgrade")
        if self.behind:
            return (f"store schema is at {self.shown()}, this feedsvc needs {self.head}: "
                    f"run `feedsvc db upgrade`")
        return None


def _status(conn: Connection) -> SchemaStatus:
    tables = set(inspect(conn).get_table_names())
    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() \
        if VERSION_TABLE in tables else None
    known = current is not None and current in known_revisions()
    return SchemaStatus(current, head_revision(), current is None and not _has_baseline_table(tables),
                        known)


def _has_baseline_table(tables: set[str]) -> bool:
    """Whether any of the baseline's tables is among these: the baseline's definitions
    are read only for a store that records no revision (checking a versioned store is
    every command's start-up)."""
    from feedsvc.store.migrations.baseline import SCHEMA as BASELINE_SCHEMA

    return bool(tables & set(BASELINE_SCHEMA.tables))


def schema_status(engine: Engine) -> SchemaStatus:
    """Read-only: what the store holds. Raises StoreUnavailable when it cannot be reached.
    A SQLite file that does not exist is empty, and is not created by looking."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") \
            and not Path(database).exists():
        return SchemaStatus(None, head_revision(), empty=True, known=False)
    with engine.connect() as conn:
        return _status(conn)


def require_current(engine: Engine) -> SchemaStatus:
    """Refuse (StoreSchemaMismatch) a store that is behind or ahead; an empty one is fine
    for a reader (nothing is published yet, and the writer will create it)."""
    status = schema_status(engine)
    problem = status.problem()
    if problem is not None:
        raise StoreSchemaMismatch(problem)
    return status


def sqlite_transaction_engine(url: str, timeout: float, begin: str = "BEGIN IMMEDIATE") -> Engine:
    """A SQLite engine whose transactions include DDL and run with foreign keys off, each
    opened by `begin`: BEGIN IMMEDIATE takes the write lock at once (migrations), a
    plain BEGIN reads one snapshot of a WAL database without blocking writers."""
    engine = create_engine(url, connect_args={"timeout": timeout, "isolation_level": None})
    on_connect(engine, "PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=OFF")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:  # pragma: no cover - trivial
        conn.exec_driver_sql(begin)

    return engine


@contextmanager
def locked_migration_connection(url: str, timeout: float = 30.0) -> Iterator[Connection]:
    """A connection inside a transaction that holds the store's migration lock; the
    transaction commits when the block ends and rolls back if it raises."""
    from feedsvc.store.engine import _raise_store_unavailable, engine_for

    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sqlite_transaction_engine(url, timeout) if sqlite else engine_for(url, timeout)
    if sqlite:
        event.listen(engine, "handle_error", _raise_store_unavailable)
    try:
        with engine.begin() as conn:
            if not sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            yield conn
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke {len(broken)} foreign keys, e.g. "
                                       f"{broken[0]}; rolled back")
    finally:
        engine.dispose()


def _adopt_unversioned(conn: Connection) -> None:
    """Stamp a store made before versioning at the baseline, once its tables are the
    baseline's. Tables the baseline has and the store lacks are created, as the old
    create_all did at every start; any other difference is refused, never guessed at."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from feedsvc.store.migrations.baseline import SCHEMA as BASELINE_SCHEMA

    diffs = [d for d in compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                         BASELINE_SCHEMA)
             if not (isinstance(d, tuple) and d[0] == "remove_table")]  # others' tables: not ours
    missing = [d[1].name for d in diffs if isinstance(d, tuple) and d[0] == "add_table"]
    other = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "add_table")]
    if other:
        raise StoreSchemaMismatch(
            f"the store has no schema version and its tables differ from the baseline "
            f"({len(other)} differences, e.g. {other[0]!r}): restore it from a backup, or "
            f"rebuild it (link history is lost)")
    BASELINE_SCHEMA.create_all(conn, tables=[BASELINE_SCHEMA.tables[name] for name in missing])
    from alembic import command

    command.stamp(alembic_config(conn), BASELINE)


def _create_at_head(conn: Connection) -> bool:
    """Make an empty store's tables from the metadata and stamp it at head; False (and
    nothing done) when any of them is there already, for the migrations to judge."""
    from feedsvc.store.tables import metadata

    if set(inspect(conn).get_table_names()) & {*metadata.tables, VERSION_TABLE}:
        return False
    metadata.create_all(conn)
    _VERSIONS.create(conn)
    conn.execute(insert(_VERSIONS).values(version_num=head_revision()))
    return True


def upgrade(url: str, target: str = "head", timeout: float = 30.0) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the store to `target` (head by default); return its status before and after.

    Refuses (StoreSchemaMismatch) a store that is ahead of this feedsvc: its
    migrations are not here to read, and downgrading is not this command's job."""
    with locked_migration_connection(url, timeout) as conn:
        before = _status(conn)  # read under the lock: another process may just have upgraded
        if before.ahead:
            raise StoreSchemaMismatch(str(before.problem()))
        if before.unversioned:
            _adopt_unversioned(conn)
        made = before.empty and target == "head" and _create_at_head(conn)
        if not made and (not before.up_to_date or target != "head"):
            from alembic import command

            command.upgrade(alembic_config(conn), target)
        after = _status(conn)
    if before.current != after.current:
        log_event(log, "schema_upgraded", before=before.shown(), after=after.shown())
    return before, after
