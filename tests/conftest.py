"""Shared fixtures: settings over temporary directories, the real corpus, content writers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.content import ParseContext
from feedsvc.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CONTENT = REPO / "content"
CORPUS = Path(os.environ.get("FEEDSVC_TEST_CORPUS", REPO.parent / "shared" / "corpus" / "smartable"))

TESTS = Path(__file__).resolve().parent

# What `scripts/test --fast` leaves out (the inner loop), by where a test lives.
SLOW_MARKERS = {"browser": "browser", "cluster": "cluster", "test_docs_run.py": "guides"}
# Tests that share one expensive session fixture run on one xdist worker: one
# Chromium, one built and served corpus read by every client.
WORKER_GROUPS = {"browser", "readers"}
# The cluster tests (several clocks or link checkers over one store, on
# second-long leases, politeness gaps and frozen or killed leaders) run in two
# lanes, each one test after another (scripts/test gives them two workers). The
# quiet lane holds the tests that render a large corpus while a lease is under
# test, and the tests that time requests to a tenth of a second: no two of them
# crowd the cores at once. The other lane runs small corpora, at most one clock
# rendering at a time, beside it.
QUIET_LANE = (
    "tests/cluster/test_fencing.py",
    "tests/cluster/test_takeover.py",
    "tests/cluster/test_failover.py::test_a_leader_frozen_inside_its_publish",
    "tests/cluster/test_failover.py::test_a_leader_whose_connection_is_cut",
    "tests/links/test_shared_checking.py",
)


def _scope(nodeid: str) -> str:
    """The unit the scheduler hands to one worker: a test, or a whole group or lane."""
    if nodeid.startswith(QUIET_LANE):
        return "cluster-quiet"
    parts = nodeid.split("/", 2)
    if parts[0] == "tests" and parts[1] == "cluster":
        return "cluster"
    return parts[1] if parts[0] == "tests" and parts[1] in WORKER_GROUPS else nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        top = item.path.relative_to(TESTS).parts[0]
        if top in SLOW_MARKERS:
            item.add_marker(getattr(pytest.mark, SLOW_MARKERS[top]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Every test on its own (xdist's `load`), except the groups and lanes above, each
    sent whole to one worker. (xdist's own `loadgroup` cannot see its markers under
    pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return SharedFixtureScheduling(config, log)


@pytest.fixture
def ctx() -> ParseContext:
    return ParseContext("feedsvc.test,2026", "https://feeds.test", 1_048_576)


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the upstream corpus is not beside this checkout ({CORPUS}); "
                    "set FEEDSVC_TEST_CORPUS to run the real-world tests")
    return CORPUS


def _postgres_database() -> Iterator[str]:
    """A new PostgreSQL database on the suite's server, dropped afterwards; its URL."""
    admin = os.environ.get("FEEDSVC_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("no PostgreSQL: set FEEDSVC_TEST_POSTGRES_URL (scripts/test starts one)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"feedsvc_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(make_url(admin).set(drivername="postgresql+psycopg"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path):
    """A fresh, empty store database: SQLite, then PostgreSQL (a new database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    yield from _postgres_database()


@pytest.fixture
def another_database_url(database_url: str, tmp_path: Path):
    """A second fresh, empty store database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.sqlite3'}"
        return
    yield from _postgres_database()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database, for what only PostgreSQL has (row locks,
    sessions that one process can end for another)."""
    yield from _postgres_database()


def _pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return candidates[-1] if candidates else None


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of this test's own, so that it can be stopped, started and
    restarted."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries are not installed (scripts/test installs them as root)")
    home = Path(tempfile.mkdtemp(prefix="feedsvc-pg-restart-"))  # outside pytest's root-only dirs
    data = home / "pgdata"
    data.mkdir()
    run = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run:
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run([*run, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctl = [*run, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
           "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"]

    class Server:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

        def start(self) -> None:
            subprocess.run([*ctl, "start"], check=True, capture_output=True)

        def stop(self) -> None:
            subprocess.run([*ctl, "-m", "fast", "stop"], check=True, capture_output=True)

        def restart(self) -> None:
            subprocess.run([*ctl, "-m", "fast", "restart"], check=True, capture_output=True)

    server = Server()
    server.start()
    yield server
    subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str):
    """Settings over a given content directory with a private store and cache."""

    def make(content_dir: Path, **overrides) -> Settings:
        return load_settings(env={}, **{
            "content_dir": content_dir,
            "database_url": database_url,
            "cache_dir": tmp_path / "cache",
            "base_url": "https://feeds.test",
            "id_authority": "feedsvc.test,2026",
            "build_workers": 1,
            **overrides,
        })

    return make


@pytest.fixture
def write(tmp_path: Path):
    """Write a file under tmp_path/content and return the content directory."""
    root = tmp_path / "content"
    root.mkdir(exist_ok=True)

    def write_file(name: str, text: str | bytes) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return root

    write_file.root = root  # type: ignore[attr-defined]
    return write_file


LEGACY_URL = "https://example.org/2016/machine-bias"


@pytest.fixture
def legacy_store(database_url: str) -> str:
    """A store as feedsvc made it before schema versioning (create_all of the baseline
    tables, no alembic_version), holding real rows of every kind, link history
    especially; returns its URL. Rows go in through the frozen baseline tables, so the
    fixture stays the previous schema's whatever store.py becomes."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from feedsvc.store import engine_for
    from feedsvc.store.migrations import baseline as old

    def at(day: int, hour: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, tzinfo=UTC)

    engine = engine_for(database_url)
    old.SCHEMA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(old.blobs), [{"hash": "a" * 64, "body": b"<rss>old</rss>", "gzip": b"gz"}])
        conn.execute(insert(old.generations), [{"id": 7, "created_at": at(20), "input_fingerprint": "f" * 64,
                                                "report": '{"status": "published"}'}])
        conn.execute(insert(old.documents), [{
            "generation_id": 7, "path": "feeds/all.rss", "media_type": "application/rss+xml",
            "blob_hash": "a" * 64, "last_modified": at(20), "render_key": "k" * 64}])
        conn.execute(insert(old.state), [{"key": "current", "value": "7"}])
        conn.execute(insert(old.links), [{
            "url": LEGACY_URL, "status": "broken", "code": 404, "final_url": None,
            "permanent_redirect": False, "error": None, "checked_at": at(19),
            "consecutive_failures": 3, "first_failure_at": at(17), "next_check_at": at(21),
            "checks": 5, "dead": True, "active": True}])
        conn.execute(insert(old.link_articles), [{
            "url": LEGACY_URL, "article_id": "tag:feedsvc.test,2026:machine-bias",
            "title": "Machine Bias", "source": "content/2016-05-23-machine-bias.md",
            "published": datetime(2016, 5, 23, tzinfo=UTC)}])
        conn.execute(insert(old.link_checks), [
            {"url": LEGACY_URL, "checked_at": at(day), "status": status, "code": code,
             "error": None, "final_url": None, "elapsed_ms": ms}
            for day, status, code, ms in [(15, "ok", 200, 120), (16, "ok", 200, 130),
                                          (17, "broken", 404, 90), (18, "broken", 404, 95),
                                          (19, "broken", 404, 80)]])
        conn.execute(insert(old.link_stats), [
            {"day": "2026-11-18", "status": "ok", "count": 0},
            {"day": "2026-11-18", "status": "broken", "count": 1},
            {"day": "2026-11-19", "status": "broken", "count": 1}])
        conn.execute(insert(old.article_dates), [
            {"article_id": "tag:feedsvc.test,2026:why-we-check-every-link", "published": at(2, 9)}])
        conn.execute(insert(old.leases), [{"name": "clock", "holder": "old-host:1", "expires_at": at(20)}])
    engine.dispose()
    return database_url
@pytest.fixture
def restored_environ():
    """The process environment as it was, restored after the test: `feedsvc serve` exports
    its settings to os.environ for its server's workers, and a CliRunner run of it in
    this process must not hand them (FEEDSVC_CONTENT_DIR: the bundled content) to the
    tests after it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)

