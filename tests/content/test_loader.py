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
