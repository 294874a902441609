"""What is served must not degrade because an input broke: a broken topics.yml, an
emptied content directory, a deleted store file, a full cache disk.

Each test publishes a good generation first, breaks one thing for real (files,
FIFOs, symlinks, a real SQLite store) and checks that the good generation stays
served and that /status, /readyz and the command say why.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from feedsvc.clock import Clock
from feedsvc.web import create_app
from tests.content.test_hostile_files import bounded, build
from tests.test_clock import story

TOPICS = """topics:
  - slug: privacy
    title: Privacy
    description: Data protection.
  - slug: regulation
    title: Regulation
    aliases: [Law, AI Act]
    keywords: [regulator]
  - slug: healthcare
    title: Healthcare
"""


@pytest.fixture
def site(write, settings_for):
    """A published site: topics.yml and six articles over three declared topics."""
    write("topics.yml", TOPICS)
    for n, topic in enumerate(["Privacy", "Law", "AI Act", "Healthcare", "Privacy", "Law"]):
        write(f"s{n}.md", story(n, topic))
    settings = settings_for(write.root)
    report, store = build(settings)
    assert report.published and report.topics == 3 and not report.problems
    client = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)}).test_client()
    assert client.get("/feeds/healthcare.atom").status_code == 200
    return settings, store, client, report.generation


def break_with(root, how: str, tmp_path) -> int | None:
    """Break topics.yml one way; return the line `feedsvc check` must point at, if any."""
    path = root / "topics.yml"
    broken_text = {
        "stray-quote": (TOPICS.replace("title: Regulation", 'title: "Regulation'), 6),
        "tab-indent": (TOPICS.replace("    title: Healthcare", "\ttitle: Healthcare"), None),
        "slug-not-text": (TOPICS.replace("slug: healthcare", "slug: 5"), None),
        "title-a-list": (TOPICS.replace("title: Healthcare", "title: [a, b]"), 9),  # the entry
        "entry-a-list": (TOPICS + "  - [not, a, mapping]\n", None),
        "topics-a-mapping": ("topics:\n  privacy: Privacy\n", 1),
        "no-topics-key": ("slug: privacy\ntitle: Privacy\n", 1),
        "duplicate-slug": (TOPICS + "  - slug: privacy\n    title: Privacy again\n", None),
        "slug-too-long": (TOPICS.replace("slug: healthcare", "slug: " + "h" * 81), None),
        "not-utf8": (TOPICS.encode() + b"  - slug: caf\xe9\n", 11),
        "empty": ("", 1),
    }
    if how in broken_text:
        text, line = broken_text[how]
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return line
    path.unlink()
    if how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()
    elif how == "symlink-outside":
        outside = tmp_path / "outside.yml"
        outside.write_text(TOPICS.replace("title: Privacy", "title: SECRET-FROM-OUTSIDE"))
        os.symlink(outside, path)
    elif how == "symlink-loop":
        os.symlink("topics.yml", path)
    elif how == "unreadable":
        path.write_text(TOPICS)
        path.chmod(0)
    return None


WAYS = ["stray-quote", "tab-indent", "slug-not-text", "title-a-list", "entry-a-list",
        "topics-a-mapping", "no-topics-key", "duplicate-slug", "slug-too-long", "not-utf8", "empty",
        "fifo", "directory", "symlink-outside", "symlink-loop", "unreadable"]


@pytest.mark.parametrize("how", WAYS)
def test_a_broken_taxonomy_stops_the_publish(site, tmp_path, how):
    settings, store, client, first = site
    if how == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    line = break_with(settings.content_dir, how, tmp_path)
    settings.content_dir.joinpath("new.md").write_text(story(9, "Healthcare"))  # a real change
    report, _ = build(settings)
    assert report.status == "taxonomy-invalid" and report.generation == first
    assert store.current_generation() == first
    topic_errors = [p for p in report.problems if p.path == "topics.yml" and p.severity == "error"]
    assert topic_errors
    # The last good generation is what is served, taxonomy and all.
    assert client.get("/feeds/healthcare.atom").status_code == 200
    assert b"SECRET-FROM-OUTSIDE" not in client.get("/").data
    status = client.get("/status").json
    assert status["last_build"]["status"] == "taxonomy-invalid"
    assert status["content"].startswith("taxonomy invalid: topics.yml has errors: ")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["content"] == status["content"]
    # `feedsvc check` says where, and fails; `feedsvc build` fails too.
    env = {"FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_CACHE_DIR": str(settings.cache_dir),
           "FEEDSVC_BUILD_WORKERS": "1"}
    checked = bounded(CliRunner().invoke, main, ["check", "--content", str(settings.content_dir)], env=env)
    assert checked.exit_code == 1
    # Paths are shown as the terminal can open them: this directory is outside the
    # current one, so absolute.
    topics = settings.content_dir / "topics.yml"
    where = f"{topics}:{line}: error: " if line else str(topics)
    assert any(text.startswith(where) and ": error: " in text for text in checked.output.splitlines())
    built = bounded(CliRunner().invoke, main, ["build", "--content", str(settings.content_dir)], env=env)
    assert built.exit_code == 1 and "topics.yml has errors; nothing published" in built.output


def test_a_repaired_taxonomy_publishes_again(site, tmp_path):
    settings, _store, client, first = site
    break_with(settings.content_dir, "stray-quote", tmp_path)
    assert build(settings)[0].status == "taxonomy-invalid"
    (settings.content_dir / "topics.yml").write_text(TOPICS)
    settings.content_dir.joinpath("new.md").write_text(story(9, "Healthcare"))
    report, _ = build(settings)
    assert report.published and report.generation > first and report.topics == 3
    assert client.get("/readyz").json["content"] == "ok"


def test_an_emptied_content_directory_needs_allow_shrink(site, caplog):
    settings, store, client, first = site
    for path in settings.content_dir.glob("*.md"):
        path.unlink()
    # The clock never shrinks the site on its own, and says so loudly.
    clock = Clock(settings, store, check_links=False)
    with caplog.at_level(logging.INFO, logger="feedsvc.clock"):
        report = bounded(clock.build_job)
    assert report.status == "shrink-refused" and store.current_generation() == first
    refused = [r for r in caplog.records if r.getMessage() == "build_refused"]
    assert refused and refused[0].levelno == logging.ERROR
    assert client.get("/feeds/all.atom").status_code == 200
    status = client.get("/status").json
    assert status["last_build"]["status"] == "shrink-refused"
    assert status["content"] == (
        "shrink refused: this build would publish 0 articles, fewer than 0.5 of the 6 published now "
        "(FEEDSVC_SHRINK_LIMIT); nothing was published. If that is intended, run "
        "`feedsvc build --allow-shrink`")
    env = {"FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_CACHE_DIR": str(settings.cache_dir),
           "FEEDSVC_BUILD_WORKERS": "1"}
    args = ["build", "--content", str(settings.content_dir)]
    refused_run = bounded(CliRunner().invoke, main, args, env=env)
    assert refused_run.exit_code == 1 and "too many articles would disappear" in refused_run.output
    allowed = bounded(CliRunner().invoke, main, [*args, "--allow-shrink"], env=env)
    assert allowed.exit_code == 0 and "published generation" in allowed.output
    assert store.current_generation() > first
    assert client.get("/readyz").json["content"] == "ok"


def test_losing_less_than_the_limit_publishes(site):
    settings, _store, _, _first = site
    for name in ("s0.md", "s1.md", "s2.md"):  # half of six: not fewer than half
        (settings.content_dir / name).unlink()
    report, _ = build(settings)
    assert report.published and report.articles == 3
    (settings.content_dir / "s3.md").unlink()  # 2 of 3 left: fine again
    assert build(settings)[0].published


def test_the_shrink_limit_is_a_setting(site):
    settings, _store, _, _first = site
    for name in ("s0.md", "s1.md", "s2.md"):
        (settings.content_dir / name).unlink()
    report, _ = build(settings.replace(shrink_limit=0.9))
    assert report.status == "shrink-refused"
    assert build(settings.replace(shrink_limit=0))[0].published


def test_a_cache_that_cannot_be_saved_does_not_fail_a_published_build(write, settings_for, tmp_path):
    """A full disk, simulated by making the cache's directory a regular file (no small
    filesystem can be mounted here without privileges): the save fails for real."""
    write("a.md", story(1))
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a directory")
    settings = settings_for(write.root, cache_dir=blocked / "cache")
    report, store = build(settings)
    assert report.published and store.current_generation() == report.generation
    [warning] = [p for p in report.problems if p.path == str(settings.cache_dir)]
    assert warning.severity == "warning" and "the parse cache could not be saved" in warning.reason
    client = create_app({"FEEDSVC_SETTINGS": settings.replace(web_check_interval=0)}).test_client()
    assert client.get("/status").json["last_build"]["status"] == "published"
    env = {"FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_CACHE_DIR": str(settings.cache_dir),
           "FEEDSVC_BUILD_WORKERS": "1"}
    write("b.md", story(2))
    result = bounded(CliRunner().invoke, main, ["build", "--content", str(write.root)], env=env)
    assert result.exit_code == 0, result.output
    assert "published generation" in result.output and "the parse cache could not be saved" in result.output


def test_a_store_file_deleted_under_the_web_is_noticed(site, tmp_path, settings_for):
    settings, store, client, first = site
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("a store file exists only with SQLite")
    feed = client.get("/feeds/privacy.atom")
    assert feed.status_code == 200 and client.get("/readyz").status_code == 200
    database = settings.database_url.removeprefix("sqlite:///")
    store.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.unlink(database + suffix)
    ready = client.get("/readyz")  # still serving from memory: ready, the store reported apart
    assert ready.status_code == 200 and client.get("/healthz/store").status_code == 503
    assert ready.json["store"].startswith(f"the store file {database} is gone")
    assert ready.json["generation"] == first
    again = client.get("/feeds/privacy.atom")  # served from memory
    assert again.status_code == 200 and again.data == feed.data
    status = client.get("/status")
    assert status.status_code == 503 and status.json["message"] == ready.json["store"]
    assert status.json["generation"] == first
    assert not os.path.exists(database)  # the web did not create an empty one in its place
    # A new store file put in its place (a restore) is picked up.
    other = tmp_path / "other.sqlite3"
    settings_other = settings.replace(database_url=f"sqlite:///{other}")
    report, other_store = build(settings_other)
    other_store.close()
    shutil.move(other, database)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["store"] == "ok"
    assert ready.json["generation"] == report.generation
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM generations").fetchone()[0] >= 1


def test_metrics_name_the_refusal(site):
    settings, _store, client, _first = site
    (settings.content_dir / "topics.yml").write_text("topics: [")
    assert build(settings)[0].status == "taxonomy-invalid"
    text = client.get("/metrics").get_data(as_text=True)
    assert 'feedsvc_build_status{status="taxonomy-invalid"} 1' in text
    assert 'feedsvc_build_status{status="published"} 0' in text
