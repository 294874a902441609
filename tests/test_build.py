"""Builds: deterministic, incremental, atomic, and safe when content goes away."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC

from feedsvc.build import Builder
from feedsvc.store import Store
from tests.conftest import CONTENT


def builder(settings) -> Builder:
    store = Store(settings.database_url)
    store.create()
    return Builder(settings, store)


def site(b: Builder) -> dict[str, tuple[str, bytes]]:
    docs = b.store.documents(b.store.current_generation())
    bodies = dict(b.store.bodies(d.blob_hash for d in docs))
    return {d.path: (d.etag, bodies[d.blob_hash]) for d in docs}


def copy_content(tmp_path, name):
    target = tmp_path / name
    shutil.copytree(CONTENT, target)
    return target


def test_two_builds_in_different_directories_are_byte_identical(tmp_path, settings_for):
    a = builder(settings_for(copy_content(tmp_path, "one"), database_url=f"sqlite:///{tmp_path}/a.db",
                             cache_dir=tmp_path / "ca"))
    b = builder(settings_for(copy_content(tmp_path, "two"), database_url=f"sqlite:///{tmp_path}/b.db",
                             cache_dir=tmp_path / "cb", build_workers=2))
    a.build()
    b.build()
    assert site(a) == site(b)
    assert len(site(a)) > 40


def test_worker_processes_give_the_same_bytes_as_one_process(tmp_path, settings_for, monkeypatch):
    """Force the parallel paths (parse and render in worker processes, small batches)."""
    from feedsvc.content import loader
    from feedsvc.render import site as site_module

    serial = builder(settings_for(copy_content(tmp_path, "one"), database_url=f"sqlite:///{tmp_path}/a.db",
                                  cache_dir=tmp_path / "ca", feed_size=5))
    serial.build()
    monkeypatch.setattr(loader, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(site_module, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(site_module, "PARALLEL_PAGES", 1)  # topic pages from their items, too
    monkeypatch.setattr(site_module, "BATCH", 3)
    monkeypatch.setattr(loader, "SAVE_EVERY", 10)
    parallel_settings = settings_for(copy_content(tmp_path, "two"), database_url=f"sqlite:///{tmp_path}/b.db",
                                     cache_dir=tmp_path / "cb", feed_size=5, build_workers=2)
    parallel = builder(parallel_settings)
    report = parallel.build()
    assert report.files_parsed == 35
    assert site(parallel) == site(serial)
    # The cache written in slices while the workers parsed is complete on disk:
    assert builder(parallel_settings).build(force=True).files_parsed == 0


def test_a_builder_that_builds_once_keeps_no_parse_results(tmp_path, settings_for):
    """`feedsvc build` builds once: it saves the parse cache as soon as the content is
    loaded and holds nothing of it after that, yet publishes the same bytes, and the
    next process finds every file in the cache (nothing parsed, nothing changed)."""
    kept = builder(settings_for(copy_content(tmp_path, "one"), database_url=f"sqlite:///{tmp_path}/a.db",
                                cache_dir=tmp_path / "ca"))
    kept.build()
    settings = settings_for(copy_content(tmp_path, "two"), database_url=f"sqlite:///{tmp_path}/b.db",
                            cache_dir=tmp_path / "cb")
    store = Store(settings.database_url)
    store.create()
    once = Builder(settings, store, once=True)
    report = once.build()
    assert report.published and report.files_parsed == 35
    assert site(once) == site(kept)
    assert not once.cache.entries  # released: all of it is in the cache file
    assert len(kept.cache.entries) == 35
    assert all(e.result is not None for e in kept.cache.entries.values())
    assert "cache_save_s" in report.timings and not once.cache.dirty
    again = Builder(settings, store, once=True).build(force=True)
    assert again.files_parsed == 0 and again.documents_written == 0
    assert Builder(settings, store, once=True).build().status == "unchanged"


def test_touching_files_changes_nothing(tmp_path, settings_for):
    content = copy_content(tmp_path, "c")
    b = builder(settings_for(content))
    first = b.build()
    before = site(b)
    for path in content.iterdir():
        os.utime(path, (1, 1))
    again = builder(settings_for(content)).build()  # a fresh process: cache from disk
    assert not again.published and again.generation == first.generation
    assert again.files_parsed == 0
    assert site(b) == before


def test_editing_one_article_changes_only_its_feeds(tmp_path, settings_for):
    content = copy_content(tmp_path, "c")
    b = builder(settings_for(content))
    b.build()
    before = site(b)
    target = content / "2019-07-25-ai-emotion-recognition-cant-be-trusted.md"
    target.write_text(target.read_text().replace("A large review", "A big review"))
    report = b.build()
    after = site(b)
    changed = {p for p in after if after[p] != before[p]}
    edited_id = "tag:feedsvc.test,2026:articles/2019-07-25-ai-emotion-recognition-cant-be-trusted"
    holding = {p[len("feeds/"):-len(".json")] for p in before
               if p.startswith("feeds/") and p.endswith(".json") and "/archive/" not in p
               and edited_id in {i["id"] for i in json.loads(before[p][1])["items"]}}
    assert {"all", "emotion-recognition"} <= holding
    feeds = {f"feeds/{slug}.{fmt}" for slug in holding for fmt in ("rss", "atom", "json")}
    # The 2019 story is not among the index page's latest 20, so index.html stays.
    assert changed == feeds | {f"topics/{slug}.html" for slug in holding - {"all"}}
    assert report.files_parsed == 1 and report.documents_written == len(changed)


def test_content_directory_that_vanishes_keeps_the_last_generation(tmp_path, settings_for):
    content = copy_content(tmp_path, "c")
    b = builder(settings_for(content))
    first = b.build()
    shutil.rmtree(content)
    report = b.build()
    assert not report.published and report.errors == 1
    assert b.store.current_generation() == first.generation
    assert b.store.last_report()["errors"] == 1


def test_a_broken_file_is_reported_and_the_rest_publish(write, settings_for):
    write("2024-01-01-good.md", "---\ntitle: Good\nurl: https://e.org/g\n---\n")
    write("bad.md", "---\ntitle: [unclosed\n---\n")
    report = builder(settings_for(write.root)).build()
    assert report.published and report.articles == 1
    assert [(p.path, p.line, p.severity) for p in report.problems] == [
        ("bad.md", 3, "error"), ("topics.yml", None, "warning")]


def test_old_generations_are_pruned_with_their_blobs(write, settings_for):
    from datetime import datetime, timedelta

    from sqlalchemy import func, select

    from feedsvc.store import KEEP_GENERATIONS, KEEP_SECONDS, blobs

    b = builder(settings_for(write.root))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(KEEP_GENERATIONS + 3):
        write(f"2024-01-{n + 1:02d}-a.md", f"---\ntitle: A{n}\nurl: https://e.org/{n}\n---\n")
        b.build(now=start + timedelta(seconds=KEEP_SECONDS * 2 * n))
    with b.store.engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(blobs)).scalar()
    live = {d.blob_hash for g in range(b.store.current_generation() - KEEP_GENERATIONS + 1,
                                       b.store.current_generation() + 1)
            for d in b.store.documents(g)}
    assert kept == len(live)
    assert b.store.documents(1) == []


def test_recent_generations_are_kept_however_many(write, settings_for):
    b = builder(settings_for(write.root))
    for n in range(12):  # a burst of builds within seconds
        write(f"2024-02-{n + 1:02d}-b.md", f"---\ntitle: B{n}\nurl: https://e.org/b{n}\n---\n")
        b.build()
    assert b.store.documents(1)  # still there for a web process holding an older index


def test_min_quality_leaves_out_lower_scored_articles(write, settings_for):
    for n, quality in enumerate((90, 40, None)):
        score = f"quality: {quality}\n" if quality is not None else ""
        write(f"2024-01-0{n + 1}-q{n}.md", f"---\ntitle: Q{n}\nurl: https://e.example/{n}\n{score}---\n")
    all_three = builder(settings_for(write.root)).build()
    assert all_three.articles == 3
    report = builder(settings_for(write.root, min_quality=50)).build()
    assert report.published and report.articles == 2  # 90 and the unscored one
    assert [(p.path, p.severity, p.reason) for p in report.problems if p.severity == "info"] == [
        ("2024-01-02-q1.md", "info",
         "left out 1 article(s) scored below FEEDSVC_MIN_QUALITY=50 (this one scores 40)")]


def test_a_no_change_rebuild_in_a_new_process_reads_no_parse_result(tmp_path, settings_for):
    """The published generation's input key is compared before anything is unpickled:
    a new Builder (as a new `feedsvc build` process) finds every file unchanged from
    sizes and mtimes alone, and says so with the published generation's problems."""
    content = copy_content(tmp_path, "c")
    (content / "2024-01-01-broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    settings = settings_for(content)
    first = builder(settings).build()
    assert first.published and first.errors == 1
    # The same inputs through the full path (a touched file cannot take the shortcut):
    os.utime(content / "2024-01-01-broken.md", (1, 1))
    full = builder(settings).build()
    fresh = builder(settings)
    shortcut = fresh.build()
    assert shortcut.status == full.status == "unchanged"
    assert shortcut.generation == full.generation == first.generation
    assert all(entry.result is None for entry in fresh.cache.entries.values())
    assert (shortcut.articles, shortcut.topics, shortcut.documents) == \
        (full.articles, full.topics, full.documents)
    assert shortcut.problems == full.problems and shortcut.files_parsed == 0
    assert fresh.store.last_report()["status"] == "unchanged"


def test_what_the_shortcut_cannot_see_still_rebuilds(tmp_path, settings_for):
    content = copy_content(tmp_path, "c")
    builder(settings_for(content)).build()
    # a setting that shapes the bytes
    assert builder(settings_for(content, feed_size=3)).build().published
    # an edit that keeps size and mtime (a same-length correction, mtime put back)
    target = content / "2019-07-25-ai-emotion-recognition-cant-be-trusted.md"
    stat = target.stat()
    target.write_text(target.read_text().replace("A large review", "A LARGE review"))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    b = builder(settings_for(content, feed_size=3))
    assert b.build().status == "unchanged"  # same size and mtime: indistinguishable, as before
    assert b.build(force=True).published
    # a file removed
    target.unlink()
    assert builder(settings_for(content, feed_size=3)).build().published


def test_a_damaged_parse_cache_entry_is_parsed_again(tmp_path, settings_for):
    import sqlite3

    content = copy_content(tmp_path, "c")
    settings = settings_for(content)
    builder(settings).build()
    with sqlite3.connect(settings.cache_dir / "parse-cache.sqlite3") as db:
        db.execute("UPDATE entries SET result = x'00ff' WHERE rel = "
                   "'2019-07-25-ai-emotion-recognition-cant-be-trusted.md'")
    report = builder(settings).build(force=True)
    assert report.files_parsed == 1 and report.errors == 0


# --- the editor's calendar -----------------------------------------------------------

def dated(title: str, when, *, extra: str = "", topic: str = "Privacy") -> str:
    return (f"---\ntitle: {title}\ndate: {when.isoformat()}\nurl: https://news.example/{title.lower()}\n"
            f"tags: [{topic}]\n{extra}---\nBody of {title}.\n")


def every_document(b: Builder) -> bytes:
    return b"\n".join(body for _, body in site(b).values())


def test_a_scheduled_article_is_in_no_document_until_its_time(write, settings_for):
    from datetime import datetime, timedelta

    import feedparser

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    write("old.md", dated("Old", now - timedelta(days=2)))
    write("soon.md", dated("Soon", now + timedelta(minutes=5), topic="Regulation"))
    b = builder(settings_for(write.root))
    first = b.build(now=now)
    assert first.published and first.articles == 1
    assert [(c.path, str(c.action), c.at) for c in first.schedule] == [
        ("soon.md", "publish", now + timedelta(minutes=5))]
    everything = every_document(b)
    assert b"Soon" not in everything and b"soon" not in everything
    assert "feeds/regulation.atom" not in site(b), "a topic only the scheduled article names"
    atom = feedparser.parse(site(b)["feeds/all.atom"][1])
    assert atom.feed.updated.startswith((now - timedelta(days=2)).date().isoformat())
    # Before its time nothing changes, even through the no-change shortcut.
    assert b.build(now=now + timedelta(minutes=4)).status == "unchanged"
    due = b.build(now=now + timedelta(minutes=5))
    assert due.published and due.articles == 2 and due.schedule == ()
    assert b"Soon" in site(b)["feeds/all.atom"][1] and "feeds/regulation.atom" in site(b)


def test_an_expired_article_leaves_every_document_and_keeps_its_id(write, settings_for):
    from datetime import datetime, timedelta

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    write("keep.md", dated("Keep", now - timedelta(days=3)))
    write("offer.md", dated("Offer", now - timedelta(days=1),
                            extra=f"expiryDate: {(now + timedelta(hours=1)).isoformat()}\n"))
    b = builder(settings_for(write.root, shrink_limit=0))
    report = b.build(now=now)
    assert report.articles == 2 and [str(c.action) for c in report.schedule] == ["expire"]
    assert b"Offer" in site(b)["feeds/all.json"][1]
    gone = b.build(now=now + timedelta(hours=1))
    assert gone.published and gone.articles == 1 and gone.schedule == ()
    assert b"Offer" not in every_document(b)
    # Its id stays reserved: another file taking it is still a duplicate.
    write("copy.md", dated("Copy", now, extra="id: tag:feedsvc.test,2026:articles/offer\n"))
    again = b.build(now=now + timedelta(hours=2))
    assert any("tag:feedsvc.test,2026:articles/offer" in p.reason for p in again.problems), again.problems


def test_publish_future_shows_scheduled_articles_at_once(write, settings_for):
    from datetime import datetime, timedelta

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    write("soon.md", dated("Soon", now + timedelta(days=1)))
    b = builder(settings_for(write.root, publish_future=True))
    report = b.build(now=now)
    assert report.articles == 1 and report.schedule == ()
    assert b"Soon" in site(b)["feeds/all.atom"][1]
