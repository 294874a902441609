"""The loader's scan, as the build uses it."""

from __future__ import annotations

import gc

from feedsvc.content.loader import scan


def test_scan_leaves_nothing_for_the_cycle_collector(tmp_path):
    """A build runs the collector's oldest generation rarely (raised thresholds), so what
    the scan found must be freed by reference counting alone when the build drops it:
    a recursive closure once kept every SourceFile of a 100,000-file build alive to the
    end. Nested directories make the walk recurse."""
    (tmp_path / "a.md").write_text("one\n")
    (tmp_path / "2024" / "06").mkdir(parents=True)
    (tmp_path / "2024" / "06" / "b.txt").write_text("two\n")
    gc.collect()
    gc.disable()
    try:
        found, problems = scan(tmp_path)
        assert [source.rel for source in found] == ["2024/06/b.txt", "a.md"] and not problems
        del found, problems
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_an_article_parsed_in_a_worker_holds_one_string_for_its_digest(tmp_path, monkeypatch):
    """The parse cache keeps each file's digest to the end of a build, and the article's
    fingerprint is the same value: the build process holds it once, not twice."""
    from feedsvc.content import loader
    from feedsvc.content.context import ParseContext
    from feedsvc.content.limits import Limits
    from feedsvc.workers import WorkerPool

    monkeypatch.setattr(loader, "PARALLEL_THRESHOLD", 1)
    for n in range(4):
        (tmp_path / f"story-{n}.md").write_text(
            f"---\ntitle: Story {n}\ndate: 2024-05-0{n + 1}T09:00:00Z\n"
            f"url: https://news.example/{n}\n---\nBody {n}.\n")
    ctx = ParseContext("feeds.example", "https://feeds.example", 1_000_000)
    cache = loader.ParseCache(loader.cache_key(ctx, Limits()))
    with WorkerPool(2) as pool:
        loaded = loader.load_content(tmp_path, ctx, cache=cache, pool=pool)
    assert len(loaded.articles) == 4 and loaded.files_parsed == 4
    for article in loaded.articles:
        assert cache.entries[article.source].digest is article.fingerprint
