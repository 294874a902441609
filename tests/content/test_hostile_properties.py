"""Property: whatever hostile entries sit beside good articles, a build publishes
exactly the good ones, and in bounded time.

Every example is a fresh real directory (symlink loops, dangling and escaping
links, FIFOs, undecodable and over-long names, directories named like
articles, directory loops, 2,000-topic articles, costly Markdown, unreadable
files when not running as root) and a fresh SQLite store. The build runs under
a ceiling, so a hang fails the example instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.build import Builder
from feedsvc.settings import load_settings
from feedsvc.store import Store
from tests.content.test_hostile_files import bounded, tagged
from tests.test_clock import story

KINDS = ["self-loop", "pair-loop", "dangling", "fifo", "fifo-in-dir", "bad-name", "long-name",
         "control-name", "dir-like-article", "dir-loop", "huge-topics", "symlink-outside",
         "costly-markdown", "not-utf8", "over-size", "empty-front-matter"]
if os.geteuid() != 0:
    KINDS.append("unreadable")
BUILD_CEILING = 60.0


def make_hostile(root: Path, outside: Path, kind: str, n: int) -> None:
    """One hostile entry; any article text it holds is a *valid* story (title Hostile n)
    so that only the entry's hostility can keep it out."""
    valid = story(1000 + n).replace(f"Story {1000 + n}", f"Hostile {n}")
    name = f"h{n}"
    if kind == "self-loop":
        os.symlink(f"{name}.md", root / f"{name}.md")
    elif kind == "pair-loop":
        os.symlink(f"{name}b.md", root / f"{name}a.md")
        os.symlink(f"{name}a.md", root / f"{name}b.md")
    elif kind == "dangling":
        os.symlink("nowhere.md", root / f"{name}.md")
    elif kind == "fifo":
        os.mkfifo(root / f"{name}.md")
    elif kind == "fifo-in-dir":
        (root / name).mkdir()
        os.mkfifo(root / name / "pipe.txt")
    elif kind == "bad-name":
        (Path(os.fsdecode(os.fsencode(root) + f"/2024-01-01-{name}\xff".encode("latin-1")
                          + b".md"))).write_text(valid)
    elif kind == "long-name":
        (root / (name + "x" * 230 + ".md")).write_text(valid)
    elif kind == "control-name":
        (root / f"{name}\x07.md").write_text(valid)
    elif kind == "dir-like-article":
        (root / f"{name}.md").mkdir()
    elif kind == "dir-loop":
        (root / name).mkdir()
        os.symlink("..", root / name / "up.md")
        os.symlink(".", root / name / "self")
    elif kind == "huge-topics":
        (root / f"{name}.md").write_text(
            tagged(1000 + n, [f"T{i}" for i in range(2000)]).replace(f"Story {1000 + n}", f"Hostile {n}"))
    elif kind == "symlink-outside":
        target = outside / f"{name}.md"
        target.write_text(valid)
        os.symlink(target, root / f"{name}.md")
    elif kind == "costly-markdown":
        (root / f"{name}.md").write_text(valid + "![" * 50_000)  # under the body limit
    elif kind == "not-utf8":
        (root / f"{name}.md").write_bytes(valid.encode() + b"\xff\xfe body")
    elif kind == "over-size":
        (root / f"{name}.md").write_text(valid + "x" * 210_000)
    elif kind == "empty-front-matter":
        (root / f"{name}.md").write_text("---\n---\nbody\n")
    elif kind == "unreadable":
        path = root / f"{name}.md"
        path.write_text(valid)
        path.chmod(0)
    else:  # pragma: no cover
        raise AssertionError(kind)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good=st.integers(min_value=1, max_value=4),
       hostile=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6),
       topics_file=st.booleans())
def test_a_build_publishes_exactly_the_good_articles(good, hostile, topics_file):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root, outside = base / "content", base / "outside"
        root.mkdir()
        outside.mkdir()
        if topics_file:
            (root / "topics.yml").write_text("topics:\n  - slug: privacy\n    title: Privacy\n")
        for n in range(good):
            (root / f"good-{n}.md").write_text(story(n))
        for n, kind in enumerate(hostile):
            make_hostile(root, outside, kind, n)
        config = load_settings(env={}, content_dir=root, database_url=f"sqlite:///{base / 's.sqlite3'}",
                               cache_dir=base / "cache", base_url="https://feeds.test",
                               id_authority="feedsvc.test,2026", build_workers=1, feed_size=1000,
                               max_file_size=200_000, markdown_budget=0.2)
        store = Store(config.database_url)
        store.create()
        start = time.monotonic()
        report = bounded(Builder(config, store).build, timeout=BUILD_CEILING)
        elapsed = time.monotonic() - start
        assert report.published, report
        titles = {item["title"] for item in json.loads(store.read("feeds/all.json")[1])["items"]}
        assert titles == {f"Story {n}" for n in range(good)}, [str(p) for p in report.problems]
        # Every entry named like an article was reported, not skipped silently.
        assert report.errors >= sum(k not in ("fifo-in-dir", "dir-like-article", "dir-loop")
                                    for k in hostile)
        assert elapsed < 10 + 0.2 * hostile.count("costly-markdown"), elapsed
        store.close()
        for path in root.rglob("*"):  # let the directory be removed (unreadable files)
            if not path.is_symlink() and path.is_file():
                path.chmod(0o644)
