"""Faults: content that moves under the build, a store that locks or restarts,
and readers that must never see half a generation."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree

from feedsvc.build import Builder
from feedsvc.content import loader
from feedsvc.errors import StoreUnavailable
from feedsvc.store import Store
from feedsvc.web import create_app
from tests.test_clock import start_process, stop, story, wait_until
from tests.web.test_server import free_port


def make_builder(settings) -> Builder:
    store = Store(settings.database_url, settings.db_timeout)
    store.create()
    return Builder(settings, store)


# --- content faults -----------------------------------------------------------

def test_symlink_leaving_the_content_directory_is_refused(write, settings_for, tmp_path):
    outside = tmp_path / "secret.md"
    outside.write_text(story(1))
    write("ok.md", story(2))
    os.symlink(outside, write.root / "sneaky.md")
    os.symlink(tmp_path, write.root / "sneaky-dir")
    inside = write("inside.md", story(3)) / "inside.md"
    os.symlink(inside, write.root / "alias.md")
    report = make_builder(settings_for(write.root)).build()
    refused = sorted(p.path for p in report.problems if "outside the content directory" in p.reason)
    assert refused == ["sneaky-dir", "sneaky.md"]
    # A link that stays inside is read like any file: alias.md and inside.md are the same
    # story with the same date, so the first in path order is published and the other
    # is reported as the duplicate.
    assert report.articles == 2
    assert [p.path for p in report.problems if "same original URL as alias.md" in p.reason] == \
        ["inside.md"]


def test_file_disappearing_during_the_build_is_skipped_with_a_warning(write, settings_for, monkeypatch):
    write("stays.md", story(1))
    write("vanishes.md", story(2))
    real_scan = loader.scan

    def scan_then_delete(content_dir):
        found, problems = real_scan(content_dir)
        (content_dir / "vanishes.md").unlink()
        return found, problems

    monkeypatch.setattr(loader, "scan", scan_then_delete)
    report = make_builder(settings_for(write.root)).build()
    assert report.published and report.articles == 1
    assert [(p.path, p.severity) for p in report.problems
            if p.path == "vanishes.md"] == [("vanishes.md", "warning")]


def test_file_changing_during_the_build_is_picked_up_next_time(write, settings_for, monkeypatch):
    write("a.md", story(1))
    settings = settings_for(write.root)
    builder = make_builder(settings)
    builder.build()
    real_read = loader._read_and_parse

    def edit_while_reading(source, ctx):
        Path(source.path).write_text(story(1, extra=" (second edit)"))
        return real_read(source, ctx)

    write("a.md", story(1, extra=" (first edit)"))
    monkeypatch.setattr(loader, "_read_and_parse", edit_while_reading)
    builder.build()
    monkeypatch.undo()
    builder.build()
    assert b"(second edit)" in builder.store.read("feeds/all.atom")[1]


@pytest.mark.parametrize("fault", ["removed", "replaced-by-a-file"])
def test_content_directory_gone_keeps_the_last_generation(write, settings_for, publish_fault, fault):
    settings, builder, client, first = publish_fault
    shutil.rmtree(settings.content_dir)
    if fault == "replaced-by-a-file":
        settings.content_dir.write_text("not a directory")
    report = builder.build()
    assert report.status == "content-unavailable" and builder.store.current_generation() == first
    assert client.get("/feeds/all.atom").status_code == 200
    status = client.get("/status").json
    assert status["last_build"]["status"] == "content-unavailable"
    assert "content directory does not exist" in status["last_build"]["problems"][0]["reason"]
    ready = client.get("/readyz").json
    assert ready["ready"] and ready["content"].startswith("unavailable: content directory")


@pytest.fixture
def publish_fault(write, settings_for):
    write("a.md", story(1))
    settings = settings_for(write.root)
    builder = make_builder(settings)
    first = builder.build().generation
    client = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)}).test_client()
    assert client.get("/readyz").json["content"] == "ok"
    return settings, builder, client, first


# --- store faults ------------------------------------------------------------

def test_locked_sqlite_makes_the_build_wait_or_fail_cleanly(write, tmp_path, settings_for):
    write("a.md", story(1))
    db = tmp_path / "locked.sqlite3"
    settings = settings_for(write.root, database_url=f"sqlite:///{db}", db_timeout=1.0)
    builder = make_builder(settings)
    first = builder.build().generation
    write("a.md", story(1, extra=" (edited)"))

    def hold_lock(seconds: float) -> threading.Thread:
        ready = threading.Event()

        def run() -> None:
            conn = sqlite3.connect(db, timeout=5)
            conn.execute("BEGIN EXCLUSIVE")
            ready.set()
            time.sleep(seconds)
            conn.rollback()
            conn.close()

        thread = threading.Thread(target=run)
        thread.start()
        ready.wait(5)
        return thread

    locker = hold_lock(3.0)
    with pytest.raises(StoreUnavailable, match="locked"):
        builder.build()
    locker.join()
    assert builder.store.current_generation() == first
    assert all(d.path for d in builder.store.documents(first))
    locker = hold_lock(0.5)  # shorter than the timeout: the build waits, then publishes
    report = builder.build()
    locker.join()
    assert report.published and report.generation == first + 1


def test_postgresql_restart(write, tmp_path, private_postgres):
    from feedsvc.settings import load_settings

    write("a.md", story(1))
    settings = load_settings(env={}, content_dir=write.root, database_url=private_postgres.url,
                             db_timeout=2.0, cache_dir=tmp_path / "cache", build_workers=1)
    builder = make_builder(settings)
    first = builder.build().generation
    client = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)}).test_client()
    served = client.get("/feeds/all.atom").data
    private_postgres.stop()
    assert client.get("/feeds/all.atom").data == served          # from memory
    assert client.get("/readyz").status_code == 200               # it can serve
    assert client.get("/healthz/store").status_code == 503
    write("a.md", story(1, extra=" (edited)"))
    with pytest.raises(StoreUnavailable):
        builder.build()
    private_postgres.start()
    assert wait_until(lambda: client.get("/healthz/store").status_code == 200, 10)
    assert builder.store.current_generation() == first              # nothing partial
    report = builder.build()
    assert report.published and report.generation == first + 1
    assert b"(edited)" in client.get("/feeds/all.atom").data


# --- torn reads --------------------------------------------------------------

def test_every_feed_served_during_rebuilds_is_one_whole_generation(write, settings_for, tmp_path):
    for n in range(40):
        write(f"s{n}.md", story(n, "Privacy" if n % 2 else "Regulation"))
    settings = settings_for(write.root, feed_size=10)
    builder = make_builder(settings)
    builder.build()
    port = free_port()
    web = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                        settings, tmp_path / "web.log")
    published: dict[str, set[bytes]] = {}
    stop_rebuilding = threading.Event()

    def remember() -> None:
        for doc in builder.store.documents(builder.store.current_generation()):
            published.setdefault(doc.path, set()).add(builder.store.body(doc.blob_hash))

    rebuilt = [0]

    def rebuild_loop() -> None:
        edit = 0
        while not stop_rebuilding.is_set():
            edit += 1
            n = 17 + edit % 10  # s17..s26 are the newest ten: every edit changes all.atom
            write(f"s{n}.md", story(n, "Privacy" if edit % 2 else "Regulation", f" v{edit}"))
            builder.build()
            remember()
            rebuilt[0] += 1

    remember()
    try:
        assert wait_until(lambda: _ready(port), 30)
        rebuilder = threading.Thread(target=rebuild_loop)
        rebuilder.start()
        checked = 0
        # Not a fixed time: read until several generations were published under the
        # readers (a loaded machine builds slowly), with a generous ceiling.
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            while (rebuilt[0] < 5 or checked <= 100) and time.monotonic() < deadline:
                for path in ("feeds/all.atom", "feeds/privacy.rss", "feeds/regulation.json",
                             "feeds/all/archive/1.rss", "index.html"):
                    url = "/" if path == "index.html" else f"/{path}"
                    response = http.get(url, headers={"Accept-Encoding": "identity"})
                    assert response.status_code == 200
                    etag = response.headers["etag"].strip('"')
                    assert hashlib.sha256(response.content).hexdigest()[:32] == etag
                    if path.endswith((".atom", ".rss")):
                        etree.fromstring(response.content)
                    checked += 1
                    pending = response.content
                    assert wait_until(
                        lambda pending=pending, path=path: pending in published.get(path, set()), 5), path
        stop_rebuilding.set()
        rebuilder.join(30)
        assert checked > 100 and rebuilt[0] >= 5
        assert len(published["feeds/all.atom"]) > 3  # the feeds really changed meanwhile
    finally:
        stop_rebuilding.set()
        stop(web)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
