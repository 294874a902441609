"""Link-history backups against real SQLite and PostgreSQL: a round trip after losing
the history, across databases, and the refusals."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, text

from feedsvc.cli import main
from feedsvc.models import utcnow
from feedsvc.store import CLOCK_LEASE, Store, article_dates, link_articles, link_checks, link_stats, links
from feedsvc.store.backup import HISTORY_TABLES, BackupError, backup_history, history_counts, restore_history
from feedsvc.store.linkstore import LinkStore
from feedsvc.store.schema import BASELINE, head_revision, upgrade
from tests.conftest import LEGACY_URL

FULL = {"links": 1, "link_articles": 1, "link_checks": 5, "link_stats": 3, "article_dates": 1}
UNDATED = "tag:feedsvc.test,2026:why-we-check-every-link"


def lose_history(store: Store) -> None:
    """As if the store were new: no history rows, and (PostgreSQL) link_checks' id
    sequence back at 1."""
    with store.engine.begin() as conn:
        for table in (link_checks, link_articles, links, link_stats, article_dates):
            conn.execute(delete(table))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('link_checks', 'id'), 1, false)"))


def far_from_utc(store: Store) -> None:
    """PostgreSQL hands datetimes back in the session's zone: make it one far from UTC."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', "
                              "current_database(), 'Pacific/Kiritimati'); END $$"))
        store.engine.dispose()


def assert_history_is_the_legacy_one(store: Store) -> None:
    history = LinkStore(store).history([LEGACY_URL])[LEGACY_URL]
    assert [(h["checked_at"], h["status"], h["code"]) for h in history] == [
        ("2026-11-19T00:00:00+00:00", "broken", 404), ("2026-11-18T00:00:00+00:00", "broken", 404),
        ("2026-11-17T00:00:00+00:00", "broken", 404), ("2026-11-16T00:00:00+00:00", "ok", 200),
        ("2026-11-15T00:00:00+00:00", "ok", 200)]
    state = LinkStore(store).states()[LEGACY_URL]
    assert (state.dead, state.first_failure_at) == (True, datetime(2026, 11, 17, tzinfo=UTC))
    assert store.article_dates([UNDATED]) == {UNDATED: datetime(2026, 11, 2, 9, tzinfo=UTC)}


def test_backup_then_restore_after_losing_the_history(legacy_store, tmp_path):
    upgrade(legacy_store)
    store = Store(legacy_store)
    path = tmp_path / "backups" / "links.sqlite3"
    assert backup_history(store, path) == FULL
    assert [p.name for p in path.parent.iterdir()] == ["links.sqlite3"]  # one file, no WAL
    with sqlite3.connect(path) as conn:  # a store at the source's revision, history only
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    lose_history(store)
    far_from_utc(store)
    assert history_counts(store) == dict.fromkeys(HISTORY_TABLES, 0)

    assert restore_history(store, path) == FULL
    assert_history_is_the_legacy_one(store)
    # New checks still get ids after the restored ones (the sequence moved on PostgreSQL).
    with store.engine.begin() as conn:
        conn.execute(link_checks.insert().values(
            url=LEGACY_URL, checked_at=datetime(2026, 11, 20, tzinfo=UTC), status="ok", elapsed_ms=1))
    assert history_counts(store)["link_checks"] == 6
    # Restoring again replaces, it does not add.
    assert restore_history(store, path) == FULL
    assert history_counts(store) == FULL


def test_a_backup_moves_history_to_a_store_on_another_database(legacy_store, tmp_path):
    """Taken from an unversioned store (before its first upgrade), restored into a new
    SQLite store: the backup is at the baseline and is upgraded on the way in."""
    path = tmp_path / "links.sqlite3"
    far_from_utc(Store(legacy_store))
    assert backup_history(Store(legacy_store), path) == FULL
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(BASELINE,)]
    other = Store(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    other.create()
    assert restore_history(other, path) == FULL
    assert_history_is_the_legacy_one(other)


def test_backup_never_overwrites_and_restore_refuses_what_is_not_a_backup(legacy_store, tmp_path):
    store = Store(legacy_store)
    upgrade(legacy_store)
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"")
    with pytest.raises(BackupError, match="exists already"):
        backup_history(store, existing)
    assert existing.read_bytes() == b""
    not_a_backup = tmp_path / "plain.sqlite3"
    sqlite3.connect(not_a_backup).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(BackupError, match="not a feedsvc backup"):
        restore_history(store, not_a_backup)
    assert history_counts(store) == FULL


def test_db_backup_and_restore_commands(legacy_store, tmp_path, monkeypatch):
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", legacy_store)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    path = tmp_path / "links.sqlite3"
    made = runner.invoke(main, ["db", "backup", str(path)])
    assert made.exit_code == 0, made.output
    assert made.output == (f"backed up link history to {path}: 1 links, 1 link articles, "
                           f"5 link checks, 3 link stats, 1 article dates\n")
    store = Store(legacy_store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM link_checks"))
    restored = runner.invoke(main, ["db", "restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert restored.output.startswith(f"restored link history from {path}: 1 links")
    assert_history_is_the_legacy_one(store)
    again = runner.invoke(main, ["db", "backup", str(path)])
    assert again.exit_code == 1 and "exists already" in again.output


def test_db_restore_refuses_while_a_clock_holds_the_lease(legacy_store, tmp_path, monkeypatch):
    """The guide says to stop the clocks first; a running clock's link checks and builds
    would write over the history being restored, so restore says so and does nothing."""
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", legacy_store)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    path = tmp_path / "links.sqlite3"
    assert runner.invoke(main, ["db", "backup", str(path)]).exit_code == 0
    store = Store(legacy_store)
    assert store.claim_lease(CLOCK_LEASE, "clock-a@host:1", 300, utcnow()) is not None
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM link_checks"))
    refused = runner.invoke(main, ["db", "restore", str(path)])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: a clock is running against this store (clock-a@host:1")
    assert history_counts(store)["link_checks"] == 0  # nothing restored
    forced = runner.invoke(main, ["db", "restore", "--force", str(path)])
    assert forced.exit_code == 0, forced.output
    store.release_lease(CLOCK_LEASE, "clock-a@host:1")
    assert runner.invoke(main, ["db", "restore", str(path)]).exit_code == 0
