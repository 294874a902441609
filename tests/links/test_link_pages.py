"""/api/links pages in SQL: worst first, then by URL, filtered by status, across ranks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from feedsvc.models import LinkStatus
from feedsvc.store import Store, links
from feedsvc.store.linkstore import LinkStore, links_changed, rank_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# (url, status, dead), in the order the pages must list them.
ROWS = [("https://d.example/1", LinkStatus.BROKEN, True), ("https://d.example/2", LinkStatus.ERROR, True),
        ("https://a.example/b1", LinkStatus.BROKEN, False),
        ("https://b.example/b2", LinkStatus.BROKEN, False),
        ("https://a.example/e", LinkStatus.ERROR, False), ("https://a.example/x", LinkStatus.BLOCKED, False),
        ("https://a.example/u", LinkStatus.UNCHECKED, False),
        ("https://a.example/r", LinkStatus.REDIRECTED, False),
        ("https://a.example/o1", LinkStatus.OK, False), ("https://z.example/o2", LinkStatus.OK, False)]


def test_pages_follow_the_listing_order_and_filters(database_url):
    store = Store(database_url)
    store.create()
    with store.engine.begin() as conn:
        conn.execute(insert(links), [
            {"url": url, "status": status, "code": None, "final_url": None, "permanent_redirect": False,
             "error": None, "checked_at": NOW, "consecutive_failures": 0, "first_failure_at": None,
             "next_check_at": NOW, "checks": 1, "dead": dead, "active": True, "rank": rank_of(status, dead)}
            for url, status, dead in reversed(ROWS)])
        links_changed(conn)
    link_store = LinkStore(store)
    everything, total = link_store.page([], 0, None)
    assert [s.url for s in everything] == [url for url, _, _ in ROWS] and total == 10
    pages = [link_store.page([], offset, 3)[0] for offset in (0, 3, 6, 9)]
    assert [s.url for page in pages for s in page] == [url for url, _, _ in ROWS]
    broken, total = link_store.page(["broken"], 1, 2)
    assert [s.url for s in broken] == ["https://a.example/b1", "https://b.example/b2"] and total == 3
    dead, total = link_store.page(["dead"], 0, 10)
    assert [s.url for s in dead] == ["https://d.example/1", "https://d.example/2"] and total == 2
    counts = link_store.counts()
    assert counts["broken"] == 3 and counts["error"] == 2 and counts["ok"] == 2 and counts["dead"] == 2


