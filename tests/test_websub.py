"""The WebSub queue against real stores and real, misbehaving loopback hubs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from feedsvc.store import Fence, Store, websub_queue
from feedsvc.urls import Urls
from feedsvc.websub import backoff_s, enqueue, send_due
from tests.cluster.hub import Hub

FEEDS = [f"feeds/{slug}.{fmt}" for slug in ("all", "privacy", "regulation")
         for fmt in ("rss", "atom", "json")]
BASE = "https://feeds.test"


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    store.create()
    yield store
    store.close()


def queue(store: Store, hub: str, generation: int, paths, now: datetime) -> int:
    with store.engine.begin() as conn:
        return enqueue(conn, hub, Urls(BASE), generation, paths, now)


def rows(store: Store) -> dict[str, dict]:
    with store.engine.connect() as conn:
        return {r.feed: r._asdict() for r in conn.execute(select(websub_queue))}


def test_changes_coalesce_into_one_row_per_feed(store):
    t0 = datetime.now(UTC) - timedelta(seconds=100)
    assert queue(store, "http://127.0.0.1:9/hub", 1, [*FEEDS, "index.html",
                                                      "feeds/all/archive/1.rss"], t0) == 9
    assert queue(store, "http://127.0.0.1:9/hub", 2, FEEDS[:3], t0 + timedelta(seconds=50)) == 3
    queued = rows(store)
    assert sorted(queued) == sorted(f"{BASE}/{p}" for p in FEEDS), "archives and pages are not pinged"
    assert {queued[f"{BASE}/{p}"]["generation"] for p in FEEDS[:3]} == {2}
    assert {queued[f"{BASE}/{p}"]["generation"] for p in FEEDS[3:]} == {1}
    backlog = store.websub_backlog(t0 + timedelta(seconds=100))
    assert backlog == {"pending": 9, "failing": 0, "oldest_age_s": 100.0}, "pending since the first"


def test_backoff_doubles_up_to_an_hour():
    assert [backoff_s(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_s(40, 30) == 3600


@pytest.mark.parametrize("mode", ["never", "fail", "reset"])
def test_a_broken_hub_costs_one_bounded_run_and_loses_nothing(store, mode):
    hub = Hub(mode)
    try:
        queue(store, hub.url, 1, FEEDS, datetime.now(UTC))
        started = time.monotonic()
        report = send_due(store, BASE, budget=1.5, concurrency=8, retry_base=30)
        took = time.monotonic() - started
        # nine pings, in parallel: one budget in all (a serial sender with retries
        # spent 9 x 3 attempts x the timeout on a hub that never answers)
        assert took < 1.5 + 3, took
        assert (report.sent, report.failed) == (0, 9)
        assert hub.attempts >= 9 if mode != "never" else hub.attempts >= 8
        backlog = store.websub_backlog()
        assert (backlog["pending"], backlog["failing"]) == (0, 9)
        queued = rows(store)
        assert {r["attempts"] for r in queued.values()} == {1}
        due = min(r["next_attempt_at"] for r in queued.values())
        assert due.replace(tzinfo=UTC) >= datetime.now(UTC) + timedelta(seconds=20), "backing off"
        # not due yet: the next run sends nothing
        assert send_due(store, BASE, budget=1.5, concurrency=8, retry_base=30).failed == 0
        hub.mode = "ok"
        later = datetime.now(UTC) + timedelta(seconds=31)
        report = send_due(store, BASE, budget=5, concurrency=8, retry_base=30, now=later)
        assert (report.sent, report.failed) == (9, 0)
        assert sorted(hub.feeds()) == sorted(f"{BASE}/{p}" for p in FEEDS), "each once"
        assert store.websub_backlog() == {"pending": 0, "failing": 0, "oldest_age_s": 0.0}
    finally:
        hub.close()


def test_a_feed_changed_again_while_failing_is_due_at_once_with_its_new_generation(store):
    hub = Hub("fail")
    try:
        queue(store, hub.url, 1, FEEDS[:1], datetime.now(UTC))
        send_due(store, BASE, budget=2, concurrency=2, retry_base=600)
        assert rows(store)[f"{BASE}/{FEEDS[0]}"]["attempts"] == 1
        queue(store, hub.url, 2, FEEDS[:1], datetime.now(UTC))
        row = rows(store)[f"{BASE}/{FEEDS[0]}"]
        assert (row["generation"], row["attempts"]) == (2, 0)
        hub.mode = "ok"
        assert send_due(store, BASE, budget=2, concurrency=2, retry_base=600).sent == 1
        assert hub.feeds() == [f"{BASE}/{FEEDS[0]}"]
    finally:
        hub.close()


def test_a_clock_that_lost_its_lease_sends_nothing(store):
    from feedsvc.errors import LeaseLost

    hub = Hub("ok")
    try:
        now = datetime.now(UTC)
        stale = Fence("clock", "a", store.claim_lease("clock", "a", 5, now))
        assert store.claim_lease("clock", "b", 5, now + timedelta(seconds=10)) == 2
        queue(store, hub.url, 1, FEEDS, now)
        with pytest.raises(LeaseLost):
            send_due(store, BASE, budget=2, concurrency=2, retry_base=30, fence=stale)
        assert hub.attempts == 0
        assert store.websub_backlog()["pending"] == 9
    finally:
        hub.close()
