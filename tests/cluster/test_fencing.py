"""Two real `feedsvc clock` processes on one store: a paused leader is fenced out.

The scenario of a GC pause, a stalled VM or SIGSTOP: the leader has read the
content and is rendering when it freezes; its lease lapses, the standby takes
over and publishes newer content; then the old leader wakes. It must write
nothing: generation ids stay in time order, every generation after the
takeover is the new leader's, and a hub hears one ping per feed per edit.
Nothing is paused by a hook inside the code: the test watches the leader's log
for the line that says the content has been read, stops the whole process
group with SIGSTOP, and resumes it with SIGCONT.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from datetime import datetime

from sqlalchemy.engine import make_url

from tests.cluster.hub import Hub
from tests.test_clock import events, start_process, stop, store_for, wait_until

FILES = 1000  # a full re-render takes seconds: the pause lands well inside it
CEILING = 120.0


def article(n: int, extra: str = "") -> str:
    return (f"---\ntitle: Story {n}{extra}\ndate: 2024-02-{1 + n % 27:02d}T08:00:00Z\n"
            f"url: https://news.example/{n}\ntags: [Topic {n % 8}]\n---\n" + "Body text. " * 40)


def clock_env(hub: Hub, tmp_path, name: str) -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": hub.url, "FEEDSVC_WEBSUB_INTERVAL": "1",
            "FEEDSVC_WEBSUB_RETRY_SECONDS": "1", "FEEDSVC_FEED_SIZE": "10",
            "FEEDSVC_CACHE_DIR": str(tmp_path / f"cache-{name}")}


def holder(log) -> str:
    started = wait_until(lambda: events(log, "clock_started"), CEILING)
    assert started, log.read_text()
    return str(started[0]["holder"])


def holds_sqlite_write_lock(database_url: str) -> bool:
    """True when another process holds the SQLite store's write lock right now."""
    path = make_url(database_url).database
    try:
        with closing(sqlite3.connect(path, timeout=0.05, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    return False


def pause_outside_a_write_transaction(process, database_url: str) -> None:
    """SIGSTOP the leader's process group at a moment it holds no SQLite write lock.

    Fencing is about a leader paused between its writes. A leader frozen *inside* a
    SQLite write transaction blocks every writer until it resumes, the standby's
    lease claim included: a documented limit of a one-file database, not what this
    test is about (on PostgreSQL the standby ends such a session: see
    tests/cluster/test_failover.py). So on SQLite, while the stopped leader turns out
    to hold the lock, it is let run a moment and stopped again."""
    os.killpg(process.pid, signal.SIGSTOP)
    if not database_url.startswith("sqlite"):
        return
    for _ in range(500):
        if not holds_sqlite_write_lock(database_url):
            return
        os.killpg(process.pid, signal.SIGCONT)
        time.sleep(0.002)  # let it run a little: a scheduling step, not a wait for an event
        os.killpg(process.pid, signal.SIGSTOP)
    raise AssertionError("the leader held the store's write lock at every one of 500 pauses")


def test_a_paused_leader_publishes_nothing_after_the_standby_took_over(write, settings_for, tmp_path):
    for n in range(FILES):
        write(f"s{n:04d}.md", article(n))
    hub = Hub()
    # A lease of 6 s, renewed every 2: a busy machine may delay a renewal by seconds and
    # still not hand the lease to the standby before the pause, which is what ends it.
    settings = settings_for(write.root, build_interval=2, clock_lease_seconds=6, feed_size=10,
                            websub_hub=hub.url)
    store = store_for(settings)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_process(["clock", "--no-links"], settings, log_a, clock_env(hub, tmp_path, "a"))
    b = None
    try:
        holder_a = holder(log_a)
        first = wait_until(lambda: [e for e in events(log_a, "build") if e["status"] == "published"],
                           CEILING)
        assert first, log_a.read_text()
        g1 = first[0]["generation"]
        feeds = wait_until(lambda: len(hub.pings) >= 27 and len(hub.pings) == len(set(hub.feeds()))
                           and hub.feeds(), CEILING)
        assert feeds, (hub.pings, log_a.read_text())
        b = start_process(["clock", "--no-links"], settings, log_b, clock_env(hub, tmp_path, "b"))
        holder_b = holder(log_b)
        assert wait_until(lambda: events(log_b, "standby_refresh"), CEILING), log_b.read_text()

        # The old content: every file edited. Pause the leader once it has read it.
        loaded_before = len(events(log_a, "build_loaded"))
        for n in range(FILES):
            write(f"s{n:04d}.md", article(n, " (old)"))
        assert wait_until(lambda: len(events(log_a, "build_loaded")) > loaded_before, CEILING, 0.01)
        pause_outside_a_write_transaction(a, settings.database_url)
        paused_at = datetime.now().astimezone()
        assert store.current_generation() == g1, "the pause came too late: the leader published"

        # The new content, published by the standby once the paused leader's lease lapses.
        write("s9999.md", article(0, " (NEW)").replace("2024-02-01", "2024-03-01"))
        taken = wait_until(lambda: [e for e in events(log_b, "leadership") if e["leader"]], CEILING)
        assert taken, log_b.read_text()
        published = wait_until(lambda: [e for e in events(log_b, "build")
                                        if e["status"] == "published"], CEILING)
        assert published, log_b.read_text()
        g2 = published[0]["generation"]
        assert b"(NEW)" in store.read("feeds/all.atom")[1]
        assert wait_until(lambda: len(hub.pings) >= 2 * len(feeds), CEILING), hub.pings

        # The old leader wakes: its stale build must be fenced out, and it stands by.
        os.killpg(a.pid, signal.SIGCONT)
        # Its build is fenced out (its other jobs, e.g. WebSub, may be fenced first: the
        # order in which a woken process's threads hit the store is not the point).
        fenced = wait_until(lambda: [e for e in events(log_a, "fenced") if e["job"] == "build"],
                            CEILING)
        assert fenced, log_a.read_text()
        assert fenced[0]["epoch"] == 1
        lost = [e for e in events(log_a, "leadership") if not e["leader"]]
        assert lost, log_a.read_text()
        after = datetime.fromisoformat(fenced[0]["time"])
        # back on standby: it refreshes its cache on schedule, and publishes nothing
        assert wait_until(lambda: [e for e in events(log_a, "standby_refresh")
                                   if datetime.fromisoformat(e["time"]) > after], CEILING), \
            log_a.read_text()
        assert not [e for e in events(log_a, "build")
                    if datetime.fromisoformat(e["time"]) > paused_at], log_a.read_text()

        generations = store.publishers()
        ids = [g for g, *_ in generations]
        times = [when for _, when, *_ in generations]
        assert times == sorted(times), f"generation ids out of time order: {generations}"
        assert [(by, epoch) for g, _, by, epoch in generations if g > g1] == \
            [(holder_b, 2)] * len([g for g in ids if g > g1]), generations
        assert store.current_generation() == max(ids) >= g2
        assert b"(NEW)" in store.read("feeds/all.atom")[1]
        # one ping per feed per edit: the first publish, then the new leader's
        assert wait_until(lambda: store.websub_backlog()["pending"] == 0, CEILING)
        per_feed = Counter(hub.feeds())
        assert set(per_feed) == set(feeds)
        assert set(per_feed.values()) == {2}, per_feed
        assert holder_a != holder_b
    finally:
        if a.poll() is None:
            os.killpg(a.pid, signal.SIGCONT)
        stop(a)
        if b is not None:
            stop(b)
        hub.close()
