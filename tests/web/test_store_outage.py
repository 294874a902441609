"""During a store outage every web stays ready and serves what it holds; pages that need
the store answer 503 with Retry-After, never 500. A failed build shows in /metrics and
/status, and /status keeps the last published build and the last failure."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from sqlalchemy import func, select

from feedsvc.build import Builder
from feedsvc.clock import Clock
from feedsvc.settings import load_settings
from feedsvc.store import Store, poll_counts
from feedsvc.web import create_app
from tests.test_clock import story

LIVE = ("/links", "/api/links", "/articles/a")  # a: checked link, no published page


def _site(settings):
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    app = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)})
    return store, app.test_client()


def _assert_outage_answers(client, served: bytes, *, uncached_body: bool = True) -> None:
    assert client.get("/feeds/all.atom").data == served  # from memory
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["ready"] and ready.json["store"] != "ok"
    assert client.get("/healthz/store").status_code == 503
    for path in LIVE:
        response = client.get(path)
        assert response.status_code == 503, (path, response.data[:300])
        assert response.headers["Retry-After"] == "30"
        assert b"Traceback" not in response.data
    if uncached_body:
        never_read = client.get("/feeds/all.rss")  # in the index, body never fetched
        assert never_read.status_code == 503 and never_read.headers["Retry-After"] == "30"
    status = client.get("/status")
    assert status.status_code == 503 and status.headers["Retry-After"] == "30"


def test_postgresql_stopped(write, tmp_path, private_postgres):
    write("a.md", story(1))
    settings = load_settings(env={}, content_dir=write.root, database_url=private_postgres.url,
                             db_timeout=2.0, cache_dir=tmp_path / "cache", build_workers=1)
    _store, client = _site(settings)
    served = client.get("/feeds/all.atom").data
    assert all(client.get(p).status_code == 200 for p in LIVE)
    private_postgres.stop()
    _assert_outage_answers(client, served)
    private_postgres.start()
    deadline = time.monotonic() + 30
    while client.get("/healthz/store").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert all(client.get(p).status_code == 200 for p in LIVE)


def test_sqlite_file_gone(write, tmp_path):
    write("a.md", story(1))
    database = tmp_path / "store.sqlite3"
    # With rate limiting on and polls written at once, requests write to the store too.
    settings = load_settings(env={}, content_dir=write.root, database_url=f"sqlite:///{database}",
                             cache_dir=tmp_path / "cache", build_workers=1, rate_limit=6000,
                             rate_limit_burst=1000)
    store, client = _site(settings)
    client.application.extensions["feedsvc_polls"].flush_seconds = 0
    served = client.get("/feeds/all.atom").data
    assert all(client.get(p).status_code == 200 for p in LIVE)
    store.close()
    moved = tmp_path / "moved.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{database}{suffix}"):
            shutil.move(f"{database}{suffix}", f"{moved}{suffix}")
    # (A body not yet cached is still read through the pool's open connection to the
    # moved file: harmless, so not asserted here.)
    _assert_outage_answers(client, served, uncached_body=False)
    for _ in range(3):  # polls and rate-limit buckets cannot be written: served all the same
        assert client.get("/feeds/all.atom").status_code == 200
    assert not database.exists()  # no page created an empty store in its place
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{moved}{suffix}"):
            shutil.move(f"{moved}{suffix}", f"{database}{suffix}")
    assert client.get("/healthz/store").status_code == 200
    assert all(client.get(p).status_code == 200 for p in LIVE)
    client.application.extensions["feedsvc_polls"].flush()  # what waited in memory is written
    with store.engine.connect() as conn:
        assert conn.execute(select(func.sum(poll_counts.c.polls))).scalar() == 5  # every feed fetch


def test_a_failed_build_shows_in_metrics_and_status(write, settings_for, monkeypatch):
    write("a.md", story(1))
    settings = settings_for(write.root)
    store = Store(settings.database_url)
    store.create()
    clock = Clock(settings, store, check_links=False)
    assert clock.build_job().status == "published"
    assert clock.build_job().status == "unchanged"
    client = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)}).test_client()

    # The content directory turns into something the loader cannot walk mid-build.
    def explode(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(clock.builder, "_build", explode)
    with pytest.raises(RuntimeError):
        clock.build_job()
    monkeypatch.undo()
    assert clock.build_job().status == "unchanged"  # and again: must not hide the failure
    status = client.get("/status").json
    assert status["last_build"]["status"] == "unchanged"
    assert status["last_published"]["status"] == "published"
    assert status["last_failure"]["status"] == "failed"
    assert "disk on fire" in status["last_failure"]["error"]
    assert status["builds"] == {"failed": 1, "published": 1, "unchanged": 2}
    assert [c["leader"] for c in status["clocks"]] == [True]
    assert (status["link_check"]["due"], status["link_check"]["overdue"]) == (1, 0)
    assert status["websub"] == {"pings": 0, "failures": 0,  # the queue is empty: no hub set
                                "queue": {"pending": 0, "failing": 0, "oldest_age_s": 0.0}}
    text = client.get("/metrics").get_data(as_text=True)
    assert 'feedsvc_builds_total{status="failed"} 1\n' in text
    assert 'feedsvc_builds_total{status="unchanged"} 2\n' in text
    assert 'feedsvc_build_last_failure_timestamp_seconds{status="failed"}' in text
    assert "feedsvc_build_last_success_timestamp_seconds " in text
    assert f'feedsvc_clock_leader{{holder="{clock.holder}"}} 1\n' in text
    assert "feedsvc_clock_leader_changes_total 1\n" in text
    assert "feedsvc_linkcheck_due 1\n" in text
