"""Feed polls per feed and day, and subscriber estimates from aggregators' User-Agents
and distinct salted clients, in the store, shown in /status and /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from feedsvc.store import Store, poll_clients, poll_counts, state
from feedsvc.web import create_app
from feedsvc.web.ops.polls import (
    Poll,
    PollCounter,
    poll_from_environ,
    stated_subscribers,
    subscriber_estimates,
)

# Real User-Agents as aggregators send them (as publishers' tools list them).
AGGREGATORS = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; )", ("feedly", 42)),
    ("Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", ("inoreader", 114)),
    ("NewsBlur Feed Fetcher - 27 subscribers - https://www.newsblur.com/site/7704055/x "
     '("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15")', ("newsblur#7704055", 27)),
    ("Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=cead6c3a837650eeefd8fe4a)",
     ("theoldreader#cead6c3a837650eeefd8fe4a", 1)),
    ("Feedbin feed-id:1697787 - 102 subscribers", ("feedbin#1697787", 102)),
    ("Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 3 subscribers)", ("bazqux", 3)),
    ("Dreamwidth Studios (webmaster@dreamwidth.org; for https://www.dreamwidth.org/users/x/; 2 readers)",
     ("dreamwidth", 2)),
]


@pytest.mark.parametrize(("agent", "expected"), AGGREGATORS)
def test_stated_subscribers(agent, expected):
    assert stated_subscribers(agent) == expected


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "newsboat/2.21",
                                   "curl/8.0", ""])
def test_clients_that_state_nothing(agent):
    assert stated_subscribers(agent) is None


def test_only_subscription_feed_fetches_are_polls():
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/feeds/privacy.atom", "REMOTE_ADDR": "192.0.2.1",
           "HTTP_USER_AGENT": "newsboat/2.21"}
    assert poll_from_environ(env, 200, 0) == Poll("feeds/privacy.atom", 200, "192.0.2.1", "newsboat/2.21")
    assert poll_from_environ(env, 304, 0) is not None
    assert poll_from_environ(env, 404, 0) is None
    assert poll_from_environ({**env, "PATH_INFO": "/feeds/privacy/archive/1.atom"}, 200, 0) is None
    assert poll_from_environ({**env, "PATH_INFO": "/feeds.opml"}, 200, 0) is None
    assert poll_from_environ({**env, "REQUEST_METHOD": "POST"}, 200, 0) is None
    forwarded = {**env, "HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.4"}
    assert poll_from_environ(forwarded, 200, 1).address == "198.51.100.4"


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_polls_are_counted_across_counters_and_days_closed(database_url):
    store = Store(database_url)
    store.create()
    first, second = PollCounter(store, flush_seconds=3600), PollCounter(store, flush_seconds=3600)
    feed = "feeds/all.atom"
    for n in range(30):  # 30 polls by 3 readers behind 2 addresses, as two workers saw them
        counter = first if n % 2 else second
        counter.record(Poll(feed, 304 if n % 3 else 200, f"192.0.2.{n % 2}", f"reader-{n % 3}"), NOW)
    first.record(Poll(feed, 200, "203.0.113.1", AGGREGATORS[0][0]), NOW)
    second.record(Poll(feed, 200, "203.0.113.2", AGGREGATORS[0][0].replace("42", "40")), NOW)
    first.record(Poll(feed, 200, "203.0.113.3", AGGREGATORS[1][0]), NOW)
    assert first.flush(NOW) == 17 and second.flush(NOW) == 16
    [estimate] = subscriber_estimates(store, NOW, max_age=0)
    today = estimate.today
    assert (today.polls, today.not_modified) == (33, 20)
    assert today.clients == 6  # (address, agent) pairs: n % 2 and n % 3 give 6
    assert today.aggregators == {"feedly": 42, "inoreader": 114}  # the largest stated count
    assert estimate.estimate == 6 + 42 + 114
    with store.engine.connect() as conn:
        hashes = conn.execute(select(poll_clients.c.client)).scalars().all()
    assert all("192.0.2" not in h and len(h) == 32 for h in hashes)
    # The next day: yesterday's hashes and salt are deleted, its count is kept.
    tomorrow = NOW + timedelta(days=1)
    first.record(Poll(feed, 200, "192.0.2.0", "reader-0"), tomorrow)
    first.flush(tomorrow)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(poll_clients)
                            .where(poll_clients.c.day == NOW.date().isoformat())).scalar() == 0
        salts = conn.execute(select(state.c.key).where(state.c.key.like("poll_salt:%"))).scalars().all()
        assert salts == [f"poll_salt:{tomorrow.date().isoformat()}"]
        kept = conn.execute(select(poll_counts.c.clients).where(
            poll_counts.c.day == NOW.date().isoformat())).scalar()
    assert kept == 6
    [estimate] = subscriber_estimates(store, tomorrow, max_age=0)
    assert estimate.yesterday.estimate == 6 + 42 + 114 and estimate.today.clients == 1
    assert estimate.estimate == 162


def test_status_and_metrics_show_subscribers(client, app):
    etag = client.get("/feeds/privacy.rss", headers={"User-Agent": AGGREGATORS[0][0]}).headers["ETag"]
    client.get("/feeds/privacy.rss", headers={"User-Agent": "newsboat/2.21", "If-None-Match": etag})
    client.get("/feeds/privacy.rss", headers={"User-Agent": "newsboat/2.21", "If-None-Match": etag})
    app.extensions["feedsvc_polls"].flush()
    status = client.get("/status").json
    privacy = status["subscribers"]["feeds/privacy.rss"]
    assert privacy["today"]["polls"] == 3 and privacy["today"]["not_modified"] == 2
    assert privacy["estimate"] == 43  # Feedly's 42 and one newsboat
    text = client.get("/metrics").get_data(as_text=True)
    assert 'feedsvc_feed_subscribers{feed="feeds/privacy.rss"} 43\n' in text
    assert 'feedsvc_feed_polls_today{feed="feeds/privacy.rss"} 3\n' in text


def test_clients_behind_a_trusted_proxy_are_told_apart_by_the_address_it_saw(site_settings, publish):
    """The table notes the raw headers and the flusher works out the client: the proxy's
    own entry decides, whatever a client writes further left."""
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(trust_proxy=1)})
    client = app.test_client()
    for forwarded in ("198.51.100.7", "203.0.113.1, 198.51.100.7", "203.0.113.2, 198.51.100.7",
                      "198.51.100.8"):
        assert client.get("/feeds/privacy.rss", headers={"X-Forwarded-For": forwarded,
                                                          "User-Agent": "newsboat/2.21"}).status_code == 200
    app.extensions["feedsvc_polls"].flush()
    status = client.get("/status").json
    privacy = status["subscribers"]["feeds/privacy.rss"]
    assert privacy["today"]["polls"] == 4 and privacy["estimate"] == 2


def test_a_poll_costs_no_store_write_until_the_flush(site_settings, publish):
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings})
    app.extensions["feedsvc_polls"].flush_seconds = 3600  # however slow this machine is
    client = app.test_client()
    for _ in range(20):
        client.get("/feeds/privacy.rss")
    store = app.extensions["feedsvc"].store
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(poll_counts)).scalar() == 0
    app.extensions["feedsvc_polls"].flush()
    with store.engine.connect() as conn:
        assert conn.execute(select(poll_counts.c.polls)).scalar() == 20


def test_a_busy_store_delays_the_polls_without_a_warning_until_it_lasts(tmp_path, caplog,
                                                                      monkeypatch):
    """SQLite refuses a write now and then while a build publishes: the polls wait in
    memory, said at debug level; a store that keeps refusing is warned about once, and
    its return is said too. (`serve` printed a warning at every refusal.)"""
    import logging
    import sqlite3
    import threading

    from feedsvc.web.ops import polls

    url = f"sqlite:///{tmp_path}/s.db"
    store = Store(url)
    store.create()
    counter = PollCounter(store, flush_seconds=3600)
    counter.record(Poll("feeds/all.atom", 200, "192.0.2.1", "reader"), NOW)
    holder = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # what a publishing build holds
    caplog.set_level(logging.DEBUG, logger="feedsvc")

    def said() -> list[logging.LogRecord]:
        """What this test's flushes logged: the worker's flusher thread may be writing
        other counters (earlier tests' apps) meanwhile, from its own thread."""
        return [r for r in caplog.records if r.thread == threading.get_ident()]

    counter.flush_quietly(NOW)
    assert [r.levelname for r in said() if "feed polls" in r.message] == ["DEBUG"]
    monkeypatch.setattr(polls, "UNWRITTEN_WARNING_S", 0.0)  # as if it had lasted that long
    counter.flush_quietly(NOW)
    counter.flush_quietly(NOW)
    warnings = [r.message for r in said() if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("feed polls not written for ")
    holder.execute("ROLLBACK")
    counter.flush_quietly(NOW)
    assert [r.message for r in said() if r.levelname == "WARNING"][-1] == \
        "feed polls written again"
    [estimate] = subscriber_estimates(store, NOW, max_age=0)
    assert estimate.today.polls == 1  # kept, then written
