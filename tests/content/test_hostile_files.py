"""Entries of the content directory that used to stop, hang or distort a build.

Each test puts a real hostile entry (symlink loop, FIFO, undecodable name...)
beside good articles in a temporary directory and builds into a real SQLite
store: the entry is reported with its path and reason, everything else
publishes. Anything that could hang runs under `bounded()`, so a regression
fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from feedsvc.build import Builder
from feedsvc.content import loader
from feedsvc.store import Store
from tests.test_clock import story

CEILING = 30.0


def bounded(function, *args, timeout: float = CEILING, **kwargs):
    """Run function in a thread; fail (not hang) if it has not returned within timeout."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{getattr(function, '__name__', function)} did not finish within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def build(settings, **kwargs):
    store = Store(settings.database_url, settings.db_timeout)
    store.create()
    return bounded(Builder(settings, store).build, **kwargs), store


def problems_of(report, path: str) -> list[tuple[str, str]]:
    return [(p.severity, p.reason) for p in report.problems if p.path == path]


def published_titles(store: Store) -> set[str]:
    _, body = store.read("feeds/all.json")
    return {item["title"] for item in json.loads(body)["items"]}


TOPICS = "topics:\n  - slug: privacy\n    title: Privacy\n"


@pytest.fixture
def good(write):
    write("topics.yml", TOPICS)
    write("good-1.md", story(1))
    write("good-2.md", story(2))
    return write


def test_symlink_loop_is_reported_and_the_rest_publish(good, settings_for):
    os.symlink("loop.md", good.root / "loop.md")
    os.symlink("b.md", good.root / "a.md")
    os.symlink("a.md", good.root / "b.md")
    report, store = build(settings_for(good.root))
    assert report.published and published_titles(store) == {"Story 1", "Story 2"}
    for name in ("a.md", "b.md", "loop.md"):
        assert problems_of(report, name) == [("error", "cannot read: Too many levels of symbolic links")]


def test_dangling_symlink_named_like_an_article_is_reported(good, settings_for):
    os.symlink("nowhere.md", good.root / "dangling.md")
    report, _store = build(settings_for(good.root))
    assert report.published and report.articles == 2
    assert problems_of(report, "dangling.md") == [
        ("error", "symbolic link to a file that does not exist; skipped")]


def test_directory_symlink_loop_is_walked_once(good, settings_for):
    sub = good.root / "sub"
    sub.mkdir()
    (sub / "inner.md").write_text(story(3))
    os.symlink("..", sub / "up")
    os.symlink(".", sub / "here")
    report, _ = build(settings_for(good.root))
    assert report.published and report.articles == 3
    assert len(report.problems) == 2  # one line per looping link, not 40 walks
    assert problems_of(report, "sub/up") == [
        ("warning", "directory already read as '.' (a symbolic link loop or a second link to it); skipped")]
    assert problems_of(report, "sub/here") == [
        ("warning", "directory already read as 'sub' (a symbolic link loop or a second link to it); skipped")]


def test_file_name_that_is_not_utf8_is_reported(good, settings_for, tmp_path):
    raw = os.fsencode(good.root) + b"/2022-05-10-bad\xff\xfe.txt"
    with open(raw, "wb") as handle:
        handle.write(b"A title\n\nA standfirst.\n")
    settings = settings_for(good.root)
    report, store = build(settings)
    assert report.published and published_titles(store) == {"Story 1", "Story 2"}
    assert problems_of(report, "2022-05-10-bad\\xff\\xfe.txt") == [
        ("error", "the file name is not valid UTF-8; rename it")]
    # The command prints it too, without tripping over the bytes.
    result = subprocess.run([sys.executable, "-m", "feedsvc.cli", "check", "--content", str(good.root)],
                            capture_output=True, timeout=CEILING, env={**os.environ, "LC_ALL": "C"})
    assert result.returncode == 1
    assert b"2022-05-10-bad\\xff\\xfe.txt: error: the file name is not valid UTF-8" in result.stdout


def test_fifo_named_like_an_article_is_refused_without_blocking(good, settings_for):
    os.mkfifo(good.root / "pipe.md")
    report, _store = build(settings_for(good.root))
    assert report.published and report.articles == 2
    assert problems_of(report, "pipe.md") == [("error", "a FIFO, not a regular file; skipped")]


def test_article_replaced_by_a_fifo_after_the_scan_does_not_hang(good, settings_for, monkeypatch):
    good("swapped.md", story(3))
    real_scan = loader.scan

    def scan_then_swap(content_dir):
        found, problems = real_scan(content_dir)
        (content_dir / "swapped.md").unlink()
        os.mkfifo(content_dir / "swapped.md")
        return found, problems

    monkeypatch.setattr(loader, "scan", scan_then_swap)
    report, store = build(settings_for(good.root))
    assert report.published and published_titles(store) == {"Story 1", "Story 2"}
    assert problems_of(report, "swapped.md") == [("error", "a FIFO, not a regular file; skipped")]


def test_directory_named_like_an_article_is_walked_not_read(good, settings_for):
    (good.root / "folder.md").mkdir()
    (good.root / "folder.md" / "inside.md").write_text(story(3))
    report, _ = build(settings_for(good.root))
    assert report.published and report.articles == 3 and not report.problems


@pytest.mark.parametrize(("stem", "ok"), [
    ("a" * 200, True), ("a" * 201, False),
    ("2024-01-01-" + "倫" * 69, True),   # 218 bytes
    ("2024-01-01-" + "倫" * 70, False),  # 221 bytes: the export could not write it
    ("tab\there", False),
])
def test_names_that_cannot_be_published_are_reported_at_check_time(write, settings_for, tmp_path, stem, ok):
    suffix = ".txt" if stem.startswith("2024") else ".md"
    text = "A title\n\nA standfirst.\n" if suffix == ".txt" else story(1)
    write(stem + suffix, text)
    write("other.md", story(2))
    settings = settings_for(write.root)
    report, store = build(settings)
    assert report.published and report.articles == (2 if ok else 1)
    if ok:
        assert not report.errors
        from feedsvc.export import export_generation

        assert export_generation(store, tmp_path / "site") > 0  # no "File name too long"
        if suffix == ".txt":
            assert (tmp_path / "site" / "articles" / f"{stem}.html.gz").is_file()
    else:
        [error] = [p for p in report.problems if p.severity == "error"]
        assert error.path == stem + suffix
        assert error.reason.endswith(("; rename it", "; shorten it"))


def tagged(n: int, topics: list[str]) -> str:
    names = ", ".join(json.dumps(t, ensure_ascii=False) for t in topics)
    return (f"---\ntitle: Story {n}\ndate: 2024-02-{1 + n % 27:02d}T08:00:00Z\n"
            f"url: https://news.example/{n}\ntopics: [{names}]\n---\n")


def test_topic_name_too_long_for_a_url_is_reported(write, settings_for):
    write("a.md", tagged(1, ["x" * 81]))
    write("b.md", tagged(2, ["y" * 80]))
    report, store = build(settings_for(write.root))
    assert report.published and published_titles(store) == {"Story 2"}
    assert problems_of(report, "a.md") == [("error", (
        f"topic {'x' * 81!r} would make a feed URL of 81 characters, over 80; left out: "
        "shorten it or add it to topics.yml"))]
    assert store.read(f"feeds/{'y' * 80}.atom") is not None


def test_two_topic_names_sharing_a_slug_are_reported_not_merged(write, settings_for):
    first, second = "人工智能伦理问题研究一", "人工智能伦理问题研究二"  # same first 8 characters
    write("a.md", tagged(1, [first]))
    write("b.md", tagged(2, [second]))
    write("c.md", tagged(3, ["Privacy", "privacy!"]))  # one topic spelled twice: not a collision
    report, store = build(settings_for(write.root))
    assert report.published and published_titles(store) == {"Story 1", "Story 3"}
    [(severity, reason)] = problems_of(report, "b.md")
    assert severity == "error"
    assert reason.startswith(f"topic {second!r} would share the feed 'topic-")
    assert f"with the different topic {first!r} (named in a.md)" in reason


def test_topics_per_article_are_capped(write, settings_for):
    write("twenty.md", tagged(1, [f"Topic {n}" for n in range(20)]))
    write("many.md", tagged(2, [f"Other {n}" for n in range(2000)]))
    report, store = build(settings_for(write.root))
    assert report.published and published_titles(store) == {"Story 1"}
    assert problems_of(report, "many.md") == [("error", (
        "names 2000 topics, more than 20 (FEEDSVC_MAX_TOPICS_PER_ARTICLE); left out: keep the main ones"))]
    assert report.topics == 20


def test_topic_feeds_per_build_are_capped(write, settings_for):
    write("a.md", tagged(1, ["One", "Two"]))
    write("b.md", tagged(2, ["Two", "Three"]))
    write("c.md", tagged(3, ["Two"]))
    report, store = build(settings_for(write.root, max_topic_feeds=2))
    assert published_titles(store) == {"Story 1", "Story 3"}
    assert [r for _, r in problems_of(report, "b.md")] == [
        "its topics would make more than 2 topic feeds (FEEDSVC_MAX_TOPIC_FEEDS); left out: add its "
        "topics to topics.yml as aliases of existing ones, or raise the limit"]


def markdown_article(n: int, body: str) -> str:
    return story(n) + body


def test_markdown_body_over_the_size_limit_is_reported(write, settings_for):
    write("big.md", markdown_article(1, "word " * 30_000))
    write("fine.md", markdown_article(2, "word " * 100))
    report, store = build(settings_for(write.root))
    assert published_titles(store) == {"Story 2"}
    assert problems_of(report, "big.md") == [("error", (
        "the Markdown body is 150,001 characters, over the limit of 131,072 (FEEDSVC_MAX_BODY_SIZE)"))]


@pytest.mark.parametrize("unit", ["[", "![", "a\n", "*a"])
def test_markdown_time_per_file_is_bounded(write, settings_for, unit):
    """1 MB of '[' took 18 s of Markdown; now a file costs at most the budget (plus a little)."""
    write("costly.md", markdown_article(1, unit * (1_000_000 // len(unit))))
    write("fine.md", markdown_article(2, "fine"))
    settings = settings_for(write.root, max_body_size=1_048_576, markdown_budget=0.3)
    # CPU time of this process (two files are parsed in it, not in workers): what the
    # Markdown cost, whatever else the machine is doing meanwhile.
    start = time.process_time()
    report, store = build(settings)
    spent = time.process_time() - start
    assert published_titles(store) == {"Story 2"}
    assert problems_of(report, "costly.md") == [("error", (
        "the Markdown body took over 0.3 s to render (FEEDSVC_MARKDOWN_BUDGET); simplify or shorten it"))]
    assert spent < 10, spent  # 18 s before; the budget, reading and the build around it now


def run_check_unprivileged(content_dir) -> subprocess.CompletedProcess:
    """`feedsvc check` as a user that file modes apply to (root reads any file)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes cannot be tested")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, "-m", "feedsvc.cli", "check", "--content",
                           str(content_dir)], capture_output=True, text=True, timeout=CEILING, cwd="/",
                          env={**os.environ, "FEEDSVC_CACHE_DIR": "/nonexistent/cache"})


def test_unreadable_files_are_reported(tmp_path_factory):
    import tempfile

    root = tempfile.mkdtemp(prefix="feedsvc-unreadable-")
    try:
        os.chmod(root, 0o755)  # noqa: S103 - a listable directory; the files inside are the test
        with open(os.path.join(root, "topics.yml"), "w") as handle:
            handle.write(TOPICS)
        for name, text in (("good.md", story(1)), ("locked.md", story(2))):
            with open(os.path.join(root, name), "w") as handle:
                handle.write(text)
            os.chmod(os.path.join(root, name), 0o644)
        os.chmod(os.path.join(root, "topics.yml"), 0o644)
        os.chmod(os.path.join(root, "locked.md"), 0)
        result = run_check_unprivileged(root)
        assert result.returncode == 1, result.stderr
        assert "locked.md: error: cannot read: Permission denied" in result.stdout
        assert result.stdout.rstrip().endswith("1 articles, 1 topics, 0 unpublished, 1 errors, 0 warnings")
        os.chmod(os.path.join(root, "topics.yml"), 0)  # an unreadable taxonomy is an error too
        result = run_check_unprivileged(root)
        assert "topics.yml: error: cannot read: Permission denied" in result.stdout
    finally:
        shutil.rmtree(root)


def test_a_topic_name_sharing_a_declared_topics_slug_is_reported(write, settings_for):
    declared, other = "人工智能伦理问题研究一", "人工智能伦理问题研究二"
    write("topics.yml", f"topics:\n  - slug: ai-ethics-research\n    title: Research\n"
                        f"    aliases: [{declared}]\n")
    write("a.md", tagged(1, [declared]))
    write("b.md", tagged(2, [other]))
    write("c.md", tagged(3, ["RESEARCH", "Ai-Ethics Research", "ai ethics research!"]))  # spellings
    report, store = build(settings_for(write.root))
    assert report.published and published_titles(store) == {"Story 1", "Story 3"}
    [(severity, reason)] = problems_of(report, "b.md")
    assert severity == "error" and reason.startswith(
        f"topic {other!r} would be merged into the different topic 'Research' ('ai-ethics-research')")
