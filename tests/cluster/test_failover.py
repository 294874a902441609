"""Failover on PostgreSQL that a frozen or cut-off leader cannot block, and health
that tells the truth through database blips.

Real `feedsvc clock` and `feedsvc web` processes on a real PostgreSQL. The leader
is stopped (SIGSTOP) at the moment pg_stat_activity shows it inside its publish,
or its connection is cut without a FIN (a relay process it talks through is
stopped); the standby must take over within two lease periods and publish an
edit while the old leader is still frozen or cut off, and the old leader must
write nothing when it comes back. Sessions killed by the server or a database
restart must not reach a health endpoint or cost the leader its lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from datetime import datetime

import httpx
import pytest
from sqlalchemy.engine import make_url

from feedsvc.build import Builder
from feedsvc.settings import load_settings
from feedsvc.store import session_label
from tests.cluster.test_fencing import article, holder
from tests.test_clock import events, start_process, stop, store_for, wait_until
from tests.web.test_server import free_port

LEASE = 6  # seconds: the takeover bound under test is two of these
WEB_LEASE = 30  # the default, which a web left unconfigured judges clocks by
FILES = 1000  # a full re-render writes blobs for seconds: the stop lands inside it
CEILING = 120.0

psycopg = pytest.importorskip("psycopg")


def cluster_settings(root, url: str, tmp_path, **overrides):
    return load_settings(env={}, **{
        "content_dir": root, "database_url": url, "cache_dir": tmp_path / "cache",
        "base_url": "https://feeds.test", "id_authority": "feedsvc.test,2026", "build_workers": 1,
        "build_interval": 3, "clock_lease_seconds": LEASE, "feed_size": 10, **overrides})


def admin(url: str):
    return psycopg.connect(make_url(url).render_as_string(hide_password=False), autocommit=True)


def in_transaction(conn, label: str, statement: str = "") -> bool:
    """Whether a session named `label` is inside a transaction (running `statement`,
    when given, as its current or last statement)."""
    return conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND datname = current_database() AND xact_start IS NOT NULL AND query LIKE %s",
        (label, f"{statement}%")).fetchone()[0] > 0


def stop_inside(pid: int, conn, label: str, statement: str, missed) -> bool:
    """SIGSTOP process group `pid` at a moment `label`'s session runs `statement` inside a
    transaction, confirmed after the stop (a stop that came just after the commit is
    undone and the watch goes on). False once `missed()` says the chance went by."""
    deadline = time.monotonic() + CEILING
    polls = 0
    while time.monotonic() < deadline:
        if in_transaction(conn, label, statement):
            os.killpg(pid, signal.SIGSTOP)
            if in_transaction(conn, label):
                return True
            os.killpg(pid, signal.SIGCONT)
        polls += 1
        if polls % 25 == 0 and missed():
            return False
        time.sleep(0.002)  # a poll of pg_stat_activity, not a wait for an outcome
    raise AssertionError(f"{label} was never seen running {statement!r} inside a transaction")


def freeze_inside_a_publish(pid: int, conn, label: str, write, store) -> int:
    """Edit every file (so the leader's next publish writes every blob) and SIGSTOP `pid`
    while `label` writes blobs inside that publish; returns the generation current
    before it. The writing lasts a second or so: when it slips by between two polls
    (a busy machine), the files are edited again and the next publish is watched."""
    for attempt in range(5):
        before = store.current_generation()
        for n in range(FILES):
            write(f"s{n:04d}.md", article(n, f" (old {attempt})"))
        if stop_inside(pid, conn, label, "INSERT INTO blobs",
                       lambda before=before: store.current_generation() != before):
            return before
    raise AssertionError(f"{label}'s publish slipped by five times between two polls")


def event_time(event: dict) -> float:
    return datetime.fromisoformat(event["time"]).timestamp()


def published(log):
    return [e for e in events(log, "build") if e["status"] == "published"]


def start_pair(write, settings, tmp_path, a_env=None, files: int = FILES):
    """A leader that has published, and a warm standby; (a, b, logs, holders, g1)."""
    for n in range(files):
        write(f"s{n:04d}.md", article(n))
    store = store_for(settings)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_process(["clock", "--no-links"], settings, log_a,
                      {"FEEDSVC_CACHE_DIR": str(tmp_path / "cache-a"), **(a_env or {})})
    holder_a = holder(log_a)
    assert wait_until(lambda: published(log_a), CEILING), log_a.read_text()
    b = start_process(["clock", "--no-links"], settings, log_b,
                      {"FEEDSVC_CACHE_DIR": str(tmp_path / "cache-b")})
    holder_b = holder(log_b)
    assert wait_until(lambda: events(log_b, "standby_refresh"), CEILING), log_b.read_text()
    return store, a, b, (log_a, log_b), (holder_a, holder_b), store.current_generation()


def assert_taken_over_and_published(store, log_b, cut_at: float, still_cut) -> int:
    """The standby took the lease within two lease periods of `cut_at` and published the
    edit while `still_cut()` held; returns the generation."""
    taken = wait_until(lambda: [e for e in events(log_b, "leadership") if e["leader"]], CEILING)
    assert taken, log_b.read_text()
    waited = event_time(taken[0]) - cut_at
    assert waited <= 2 * LEASE, f"takeover {waited:.1f} s after the leader was cut off"
    done = wait_until(lambda: b"(NEW)" in (store.read("feeds/all.atom") or (None, b""))[1], CEILING)
    assert done, log_b.read_text()
    assert still_cut(), "the edit was published only once the old leader came back"
    assert events(log_b, "lease_sessions_ended"), log_b.read_text()
    return store.current_generation()


def assert_old_leader_wrote_nothing(store, log_a, g1: int, holder_b: str, since: float) -> None:
    """Back again, the old leader stands by and nothing after g1 is its."""
    lost = wait_until(lambda: [e for e in events(log_a, "leadership")
                               if not e["leader"] and event_time(e) > since], CEILING)
    assert lost, log_a.read_text()
    after = event_time(lost[0])
    assert wait_until(lambda: [e for e in events(log_a, "standby_refresh") if event_time(e) > after],
                      CEILING), log_a.read_text()
    assert not [e for e in published(log_a) if event_time(e) > since], log_a.read_text()
    later = [(by, epoch) for g, _, by, epoch in store.publishers() if g > g1]
    assert later and set(later) == {(holder_b, 2)}, store.publishers()


def test_a_leader_frozen_inside_its_publish_is_replaced_within_two_lease_periods(
        write, postgres_url, tmp_path):
    settings = cluster_settings(write.root, postgres_url, tmp_path)
    store, a, b, (log_a, log_b), (holder_a, holder_b), g1 = start_pair(write, settings, tmp_path)
    try:
        with closing(admin(postgres_url)) as conn:
            g1 = freeze_inside_a_publish(a.pid, conn, session_label(holder_a), write, store)
            frozen_at = time.time()
            write("s9999.md", article(0, " (NEW)").replace("2024-02-01", "2024-03-01"))
            assert_taken_over_and_published(store, log_b, frozen_at, lambda: a.poll() is None)
            assert not in_transaction(conn, session_label(holder_a)), "its transaction was ended"
        os.killpg(a.pid, signal.SIGCONT)
        assert_old_leader_wrote_nothing(store, log_a, g1, holder_b, frozen_at)
    finally:
        if a.poll() is None:
            os.killpg(a.pid, signal.SIGCONT)
        stop(a)
        stop(b)


def test_a_leader_whose_connection_is_cut_without_a_fin_is_replaced(write, postgres_url, tmp_path):
    url = make_url(postgres_url)
    relay = subprocess.Popen([sys.executable, "-m", "tests.cluster.tcpproxy", url.host, str(url.port)],
                             stdout=subprocess.PIPE, start_new_session=True)
    a = b = None
    try:
        port = int(relay.stdout.readline())
        relayed = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        settings = cluster_settings(write.root, postgres_url, tmp_path)
        store, a, b, (log_a, log_b), (holder_a, holder_b), g1 = start_pair(
            write, settings, tmp_path, {"FEEDSVC_DATABASE_URL": relayed})
        with closing(admin(postgres_url)) as conn:
            g1 = freeze_inside_a_publish(relay.pid, conn, session_label(holder_a), write, store)
            cut_at = time.time()
            write("s9999.md", article(0, " (NEW)").replace("2024-02-01", "2024-03-01"))
            assert_taken_over_and_published(store, log_b, cut_at, lambda: relay.poll() is None)
        os.killpg(relay.pid, signal.SIGCONT)  # the network is back
        assert_old_leader_wrote_nothing(store, log_a, g1, holder_b, cut_at)
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGCONT)
        for process in (a, b):
            if process is not None:
                stop(process)
        relay.kill()
        relay.wait(10)


def start_web(settings, tmp_path, name: str = "web", extra_env: dict | None = None):
    port = free_port()
    web = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                        settings, tmp_path / f"{name}.log",
                        {"FEEDSVC_WEB_CHECK_INTERVAL": "0", **(extra_env or {})})
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    log = tmp_path / f"{name}.log"
    # Both workers up: granian stopped while a worker is still starting waits for it
    # without end (a SIGTERM then needs the SIGKILL that stop() falls back to).
    up = wait_until(ready, CEILING) and wait_until(
        lambda: all(f"Started worker-{n}" in log.read_text() for n in (1, 2)), CEILING)
    if not up:
        stop(web)  # the caller never gets it to stop
        pytest.fail(f"the web never became ready:\n{log.read_text()}")
    return web, base


def clock_seen_at(conn, holder_name: str) -> datetime:
    return conn.execute("SELECT seen_at FROM clock_processes WHERE holder = %s",
                        (holder_name,)).fetchone()[0]


def assert_store_health(base: str) -> None:
    """Both health endpoints green, the store reported ok (every worker: several tries)."""
    for _ in range(4):
        health = httpx.get(f"{base}/healthz/store", timeout=10)
        assert health.status_code == 200 and health.json() == {"store": "ok"}, health.text
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["store"] == "ok", ready.text


def assert_leader_throughout(log, holder_name: str, store) -> None:
    assert [e["leader"] for e in events(log, "leadership")] == [True], log.read_text()
    assert store.lease_epoch("clock") == 1
    assert store.lease("clock")[0] == holder_name


@contextmanager
def clock_and_web(write, url: str, tmp_path, **overrides):
    """A clock that has published and a web serving it, both on `url`: (store, clock log,
    clock holder, web base URL)."""
    for n in range(20):
        write(f"s{n:04d}.md", article(n))
    settings = cluster_settings(write.root, url, tmp_path, **overrides)
    store = store_for(settings)
    log = tmp_path / "clock.log"
    clock = start_process(["clock", "--no-links"], settings, log)
    web = None
    try:
        name = holder(log)
        assert wait_until(lambda: published(log), CEILING), log.read_text()
        web, base = start_web(settings, tmp_path)
        yield store, log, name, base
    finally:
        stop(clock)
        if web is not None:
            stop(web)


def test_sessions_ended_by_the_server_reach_no_health_check_and_no_lease(write, postgres_url, tmp_path):
    with clock_and_web(write, postgres_url, tmp_path) as (store, log, name, base), \
            closing(admin(postgres_url)) as conn:
        for _ in range(5):
            ended = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
            assert ended >= 2  # the clock's and the web's sessions at least
            killed_at = conn.execute("SELECT now()").fetchone()[0]
            assert_store_health(base)
            # the clock has renewed its lease (and its row) on a new connection since
            assert wait_until(lambda t=killed_at: clock_seen_at(conn, name) > t, CEILING), log.read_text()
        assert_store_health(base)
        assert_leader_throughout(log, name, store)
        assert not events(log, "lease_error"), log.read_text()


def test_a_leader_keeps_its_lease_across_a_database_restart(write, private_postgres, tmp_path):
    with clock_and_web(write, private_postgres.url, tmp_path, db_timeout=2.0) as (store, log, name, base):
        for _ in range(2):
            private_postgres.restart()  # returns once the server accepts connections again
            restarted_at = datetime.now().astimezone()
            assert_store_health(base)
            with closing(admin(private_postgres.url)) as conn:
                assert wait_until(lambda t=restarted_at: clock_seen_at(conn, name) > t, CEILING), \
                    log.read_text()
        assert_leader_throughout(log, name, store)


def leader_gauges(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        if line.startswith("feedsvc_clock_leader{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('holder="', 1)[1].split('"', 1)[0]] = float(value)
    return found


def test_a_killed_leader_stops_counting_as_leader_when_its_lease_runs_out(write, postgres_url, tmp_path):
    settings = cluster_settings(write.root, postgres_url, tmp_path)
    store, a, b, _logs, (holder_a, holder_b), _g1 = start_pair(write, settings, tmp_path, files=20)
    web = None
    try:
        # A web left at the default lease period (30 s), five times the clocks': it must
        # judge each clock by the clock's own period.
        web, base = start_web(settings.replace(clock_lease_seconds=WEB_LEASE), tmp_path)
        assert wait_until(lambda: leader_gauges(base) == {holder_a: 1, holder_b: 0}, CEILING), \
            leader_gauges(base)

        os.killpg(a.pid, signal.SIGKILL)
        a.wait(10)
        lease = store.lease("clock")
        assert lease is not None and lease[0] == holder_a
        expiry = lease[1].timestamp()
        samples = []
        deadline = time.monotonic() + CEILING
        while time.monotonic() < deadline:
            asked = time.time()
            gauges = leader_gauges(base)
            samples.append((asked, gauges))
            if gauges.get(holder_b) == 1:
                break
            time.sleep(0.2)  # the scrape interval of this test
        assert samples[-1][1].get(holder_b) == 1, samples[-1]
        assert all(sum(g.values()) <= 1 for _, g in samples), samples
        after_expiry = [g for asked, g in samples if asked > expiry]
        assert after_expiry and all(g.get(holder_a, 0) == 0 for g in after_expiry), samples
        assert holder_b in samples[-1][1] and sum(samples[-1][1].values()) == 1
        # The dead clock leaves feedsvc_clocks three of its own lease periods after it was
        # last seen, not three of the web's (90 s).
        with closing(admin(postgres_url)) as conn:
            last_seen = clock_seen_at(conn, holder_a).timestamp()
        gone_by = last_seen + 3 * WEB_LEASE - time.time()
        assert wait_until(lambda: holder_a not in leader_gauges(base), gone_by), leader_gauges(base)
    finally:
        for process in (a, b, web):
            if process is not None:
                stop(process)


def test_a_killed_webs_metrics_directory_is_removed_by_the_next_web(write, tmp_path):
    write("a.md", article(1))
    settings = cluster_settings(write.root, f"sqlite:///{tmp_path / 'store.sqlite3'}", tmp_path)
    assert Builder(settings, store_for(settings)).build().published
    temp = tmp_path / "tmp"
    temp.mkdir()
    first, _ = start_web(settings, tmp_path, "first", {"TMPDIR": str(temp)})
    left = sorted(p.name for p in temp.glob("feedsvc-metrics-*"))
    assert len(left) == 1
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    assert sorted(p.name for p in temp.glob("feedsvc-metrics-*")) == left, "kill -9 leaves it behind"
    second, _ = start_web(settings, tmp_path, "second", {"TMPDIR": str(temp)})
    try:
        now = sorted(p.name for p in temp.glob("feedsvc-metrics-*"))
        assert len(now) == 1 and now != left
    finally:
        stop(second)
    assert not list(temp.glob("feedsvc-metrics-*")), \
        ("a web that stops cleanly removes its own", second.returncode,
         (tmp_path / "second.log").read_text())
