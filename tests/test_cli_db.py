"""`feedsvc db ...` and the schema check at start-up, as real commands and processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from feedsvc.cli import main
from feedsvc.store import Store, engine_for
from feedsvc.store.linkstore import LinkStore
from feedsvc.store.schema import head_revision, schema_status
from tests.conftest import CONTENT, LEGACY_URL

FEEDSVC = str(Path(sys.executable).parent / "feedsvc")


@pytest.fixture
def env(tmp_path, legacy_store, monkeypatch) -> dict[str, str]:
    values = {"FEEDSVC_DATABASE_URL": legacy_store, "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"),
              "FEEDSVC_BUILD_WORKERS": "1", "FEEDSVC_BASE_URL": "https://feeds.test"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **values}


def set_version(url: str, version: str) -> None:
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    engine.dispose()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process; a refusal must come well before 60 s
    (a command that did not refuse would serve or schedule until killed)."""
    return subprocess.run([FEEDSVC, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_db_upgrade_adopts_a_store_made_before_versioning(env, legacy_store):
    runner = CliRunner()
    current = runner.invoke(main, ["db", "current"])
    assert current.exit_code == 1
    assert "store: unversioned (made before schema versioning)" in current.output
    assert f"this feedsvc needs {head_revision()}: run `feedsvc db upgrade`" in current.output

    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output == (f"upgraded the store's schema from unversioned (made before schema "
                               f"versioning) to {head_revision()}\n")
    assert runner.invoke(main, ["db", "current"]).exit_code == 0
    assert runner.invoke(main, ["db", "upgrade"]).output == (
        f"store schema is at {head_revision()}: nothing to do\n")
    assert len(LinkStore(Store(legacy_store)).history([LEGACY_URL])[LEGACY_URL]) == 5
    history = runner.invoke(main, ["db", "history"])
    assert history.output.startswith("0001  Baseline") and f"{head_revision()}  " in history.output
    assert "(store)" in history.output


def test_web_refuses_a_store_that_is_behind_and_does_not_migrate_it(env, legacy_store):
    result = run(env, "web", "--host", "127.0.0.1", "--port", "0", "--workers", "1")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: store schema is at unversioned (made before schema versioning), this feedsvc "
        f"needs {head_revision()}: run `feedsvc db upgrade`")
    assert schema_status(Store(legacy_store).engine).unversioned  # untouched


def test_web_and_clock_refuse_a_store_ahead_of_them(env, legacy_store):
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    set_version(legacy_store, "f00dfeed")
    for command in (["web", "--host", "127.0.0.1", "--port", "0"], ["clock", "--no-links"]):
        result = run(env, *command)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"error: store schema is at f00dfeed, newer than this feedsvc knows (it needs "
            f"{head_revision()}): a newer feedsvc upgraded the store; run that version, or "
            f"restore a backup made before the upgrade"]


def test_writers_upgrade_sqlite_but_refuse_postgresql_when_behind(env, legacy_store):
    """On SQLite (one machine) `build` upgrades as it starts, so the quick start stays one
    command; on PostgreSQL the clock refuses: upgrading is the release's explicit step."""
    if legacy_store.startswith("sqlite"):
        result = CliRunner().invoke(main, ["build", "--content", str(CONTENT)])
        assert result.exit_code == 0, result.output
        assert f"upgraded the store's schema from unversioned (made before schema versioning) to " \
               f"{head_revision()}" in result.output
        assert schema_status(Store(legacy_store).engine).up_to_date
        return
    result = run(env, "clock", "--no-links")
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"needs {head_revision()}: run `feedsvc db upgrade`")
    assert schema_status(Store(legacy_store).engine).unversioned


def test_web_starts_on_an_empty_store(tmp_path, monkeypatch):
    """A first deployment starts web and clock together: the web must not refuse the
    store the clock has not created yet."""
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    result = CliRunner().invoke(main, ["web", "--get", "/readyz"])
    assert "schema" not in result.output
    assert result.exit_code == 1 and "503" in result.output  # not ready: nothing published yet


def test_a_web_on_an_empty_postgresql_store_says_so_and_no_generation_none(postgres_url):
    """The first deployment on PostgreSQL: the web starts before any clock published,
    and its log says what is going on (not 'serving generation None from memory')."""
    env = {**os.environ, "FEEDSVC_DATABASE_URL": postgres_url}
    got = subprocess.run([sys.executable, "-m", "feedsvc.cli", "web", "--get", "/feeds/all.rss"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert got.returncode == 1 and "503" in got.stderr
    assert "warning: the store is empty: every feed answers 503 until `feedsvc build` or a " \
        "clock publishes to it" in got.stderr
    assert "generation None" not in got.stderr and "nothing loaded yet" in got.stderr
