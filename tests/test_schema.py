"""Schema versions against real SQLite and PostgreSQL: upgrades keep the data, head is
the metadata, stores this feedsvc cannot use are refused and left as they were."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, func, inspect, select, text

from feedsvc.errors import StoreSchemaMismatch
from feedsvc.store import Store, documents, engine_for, metadata
from feedsvc.store.linkstore import LinkStore
from feedsvc.store.migrations import baseline as old
from feedsvc.store.schema import (
    BASELINE,
    alembic_config,
    head_revision,
    locked_migration_connection,
    schema_status,
    script_directory,
    upgrade,
)
from tests.conftest import LEGACY_URL


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_upgrading_a_store_made_before_versioning_keeps_every_row(legacy_store):
    store = Store(legacy_store)
    assert schema_status(store.engine).unversioned

    before, after = upgrade(legacy_store)

    assert (before.current, before.unversioned) == (None, True)
    assert (after.current, after.up_to_date) == (head_revision(), True)
    # Link history, read back through today's code and today's schema.
    links = LinkStore(store)
    state = links.states()[LEGACY_URL]
    assert (state.status, state.code, state.dead, state.checks, state.consecutive_failures) == (
        "broken", 404, True, 5, 3)
    assert (state.first_failure_at, state.next_check_at) == (at(17), at(21))
    history = links.history([LEGACY_URL])[LEGACY_URL]
    assert [(h["checked_at"], h["status"], h["code"], h["elapsed_ms"]) for h in history] == [
        ("2026-11-19T00:00:00+00:00", "broken", 404, 80), ("2026-11-18T00:00:00+00:00", "broken", 404, 95),
        ("2026-11-17T00:00:00+00:00", "broken", 404, 90), ("2026-11-16T00:00:00+00:00", "ok", 200, 130),
        ("2026-11-15T00:00:00+00:00", "ok", 200, 120)]
    assert [a.title for a in links.articles([LEGACY_URL])[LEGACY_URL]] == ["Machine Bias"]
    assert [(d.isoformat(), c) for d, c in links.daily_counts()] == [
        ("2026-11-18", {"ok": 0, "broken": 1}), ("2026-11-19", {"broken": 1})]
    assert store.article_dates(["tag:feedsvc.test,2026:why-we-check-every-link"]) == {
        "tag:feedsvc.test,2026:why-we-check-every-link": at(2, 9)}
    # The published generation is still served as it was.
    assert store.current_generation() == 7
    found = store.read("feeds/all.rss")
    assert found is not None and found[1] == b"<rss>old</rss>" and found[0].last_modified == at(20)
    assert store.lease("clock") == ("old-host:1", at(20))
    # Upgrading again changes nothing.
    again, final = upgrade(legacy_store)
    assert again.up_to_date and final.current == head_revision()


def migrate_through_every_revision(url: str) -> None:
    """An empty store taken to head the long way, revision by revision, as Alembic runs
    them (a new store is made from the metadata instead: `schema._create_at_head`)."""
    from alembic import command

    with locked_migration_connection(url) as conn:
        command.upgrade(alembic_config(conn), "head")


def test_head_schema_is_the_metadata(database_url):
    """What store/tables.py declares and what the migrations build must be the same: a table or
    column added to the metadata without a revision fails here, on both databases."""
    migrate_through_every_revision(database_url)
    engine = engine_for(database_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diffs == [], (
        "the migrations do not build store/tables.py's metadata; add a revision with "
        "scripts/new-revision 'what changed' (see docs/architecture.md):\n"
        + "\n".join(map(repr, diffs)))


def schema_and_rows(url: str) -> dict[str, dict[str, object]]:
    """Every table's columns (type, nullability, server default), primary key, indexes,
    foreign keys (with ON DELETE), unique and check constraints, and rows: more than
    compare_metadata looks at (it skips server defaults, checks and rows)."""
    engine = engine_for(url)
    found: dict[str, dict[str, object]] = {}
    with engine.connect() as conn:
        seen = inspect(conn)
        for table in sorted(seen.get_table_names()):
            found[table] = {
                "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                                  for c in seen.get_columns(table)),
                "primary key": seen.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in seen.get_indexes(table)),
                "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                        tuple(f["referred_columns"]),
                                        str(f.get("options", {}).get("ondelete")))
                                       for f in seen.get_foreign_keys(table)),
                "unique": sorted(tuple(u["column_names"]) for u in seen.get_unique_constraints(table)),
                "checks": sorted(str(c["sqltext"]) for c in seen.get_check_constraints(table)),
                "rows": sorted(map(tuple, conn.execute(
                    select(Table(table, MetaData(), autoload_with=conn))).all())),
            }
    engine.dispose()
    return found


def test_a_new_store_is_what_every_migration_makes(database_url, another_database_url):
    """A new store is made from the metadata in one pass and stamped at head; an empty one
    taken through every revision must come out the same, down to server defaults and
    the version row, or the first upgrade after a release would meet a different store."""
    Store(database_url).create()
    migrate_through_every_revision(another_database_url)
    made, migrated = schema_and_rows(database_url), schema_and_rows(another_database_url)
    assert set(made) == set(migrated)
    for table in sorted(made):
        assert made[table] == migrated[table], table
    assert made["alembic_version"]["rows"] == [(head_revision(),)]


def test_a_new_store_is_made_without_alembic(tmp_path):
    """Making a new store imports no part of Alembic (half a second of a first build's
    start when it did): in a process of its own, so that nothing imported it before."""
    import subprocess
    import sys

    code = ("import sys; from feedsvc.store import Store; "
            f"Store('sqlite:///{tmp_path / 'new.sqlite3'}').create(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_revisions_form_one_line_from_the_baseline():
    """Two revisions written on parallel branches both follow the same parent: chain
    them (set the later one's down_revision) before merging."""
    script = script_directory()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    assert script.get_base() == BASELINE


def test_revision_file_names_say_what_alembic_reads_from_the_files():
    """The start-up check knows the revisions from the file names alone (no Alembic
    import); each name must carry its file's revision id, in the order Alembic chains them."""
    from feedsvc.store.schema import head_revision, known_revisions

    chain = [s.revision for s in script_directory().walk_revisions()][::-1]
    assert list(known_revisions()) == chain
    assert head_revision() == script_directory().get_current_head()


def test_a_new_store_is_made_by_the_migrations(database_url):
    store = Store(database_url)
    assert schema_status(store.engine).empty
    store.create()
    status = schema_status(store.engine)
    assert status.current == head_revision() and not status.behind and not status.ahead
    assert set(metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_a_store_ahead_of_this_feedsvc_is_refused_and_left_alone(legacy_store):
    upgrade(legacy_store)
    engine = engine_for(legacy_store)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    status = schema_status(engine)
    assert status.ahead and "f00dfeed" in (status.problem() or "")
    with pytest.raises(StoreSchemaMismatch, match="newer than this feedsvc knows"):
        upgrade(legacy_store)
    with pytest.raises(StoreSchemaMismatch):
        Store(legacy_store).create()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "f00dfeed"
        assert conn.execute(select(func.count()).select_from(old.link_checks)).scalar() == 5
    engine.dispose()


def test_an_unversioned_store_from_before_some_tables_gets_them(database_url):
    """A store last run by a feedsvc older than the lease and undated-article tables:
    the old create_all added missing tables at start, so adopting it does too."""
    engine = engine_for(database_url)
    old.SCHEMA.create_all(engine, tables=[t for name, t in old.SCHEMA.tables.items()
                                          if name not in ("leases", "article_dates")])
    before, after = upgrade(database_url)
    assert before.unversioned and after.up_to_date
    assert {"leases", "article_dates"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_an_unversioned_store_whose_tables_differ_is_refused(database_url):
    engine = engine_for(database_url)
    odd = MetaData()
    Table("generations", odd, Column("id", Integer, primary_key=True))  # no other column
    odd.create_all(engine)
    with pytest.raises(StoreSchemaMismatch, match="differ from the baseline"):
        upgrade(database_url)
    assert "alembic_version" not in inspect(engine).get_table_names()
    engine.dispose()


def test_two_processes_upgrading_at_once_migrate_once(database_url):
    results: list[tuple[str | None, str | None]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait(30)
            before, after = upgrade(database_url)
            results.append((before.current, after.current))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    head = head_revision()
    assert sorted(results, key=lambda r: r[0] or "") == [(None, head), (head, head)]


def test_a_failed_migration_leaves_the_store_as_it_was(database_url):
    """DDL runs inside the migration's transaction on both databases (Python's sqlite3
    would otherwise commit before each CREATE)."""
    Store(database_url).create()

    def half_a_migration() -> None:
        with locked_migration_connection(database_url) as conn:
            Operations(MigrationContext.configure(conn)).create_table("half_done", Column("id", Integer))
            raise RuntimeError("half way")

    with pytest.raises(RuntimeError, match="half way"):
        half_a_migration()
    engine = engine_for(database_url)
    assert "half_done" not in inspect(engine).get_table_names()
    engine.dispose()


def test_a_sqlite_batch_rebuild_of_a_referenced_table_cascades_nothing(tmp_path):
    """Batch mode drops the old copy of a table it rebuilds; with foreign keys on,
    dropping `generations` would delete every document through ON DELETE CASCADE."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(url)
    store.create()
    from feedsvc.models import Document

    store.publish([Document("feeds/all.rss", "application/rss+xml", at(1), "k", b"x")], "f", {},
                  created_at=at(1))
    with locked_migration_connection(url) as conn, Operations(MigrationContext.configure(conn)) \
            .batch_alter_table("generations", recreate="always") as batch:
        batch.alter_column("input_fingerprint", existing_type=old.generations.c.input_fingerprint.type,
                           existing_nullable=False)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(documents)).scalar() == 1
    assert store.read("feeds/all.rss") is not None


def test_looking_at_a_sqlite_store_that_does_not_exist_does_not_create_it(tmp_path):
    path = tmp_path / "nowhere.sqlite3"
    assert schema_status(Store(f"sqlite:///{path}").engine).empty
    assert not path.exists()
