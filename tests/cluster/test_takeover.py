"""Takeover between real clock processes: at once, warm, warned about drift, never lapsing.

Each test runs two `feedsvc clock` processes against one store (SQLite, then
PostgreSQL) and judges them by their log lines and the store's state.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

from tests.cluster.test_fencing import CEILING, article, holder
from tests.test_clock import events, start_process, stop, store_for, wait_until


def test_a_new_leader_builds_at_once_from_a_warm_cache_and_warns_about_drift(
        write, settings_for, tmp_path):
    files = 400
    for n in range(files):
        write(f"s{n:04d}.md", article(n))
    # A build interval of an hour: a new leader that waited for its interval would
    # publish nothing within this test. A lease of 5 s: the standby must not take over
    # before the kill, however late a busy machine lets the leader renew.
    settings = settings_for(write.root, build_interval=3600, clock_lease_seconds=5)
    store = store_for(settings)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_process(["clock", "--no-links"], settings, log_a,
                      {"FEEDSVC_CACHE_DIR": str(tmp_path / "cache-a")})
    b = None
    try:
        assert wait_until(lambda: events(log_a, "build"), CEILING), log_a.read_text()
        # The standby runs elsewhere (a cache of its own) and with other settings.
        b = start_process(["clock", "--no-links"], settings, log_b, {
            "FEEDSVC_CACHE_DIR": str(tmp_path / "cache-b"), "FEEDSVC_FEED_SIZE": "7",
            "FEEDSVC_DEAD_LINK_POLICY": "self"})
        warm = wait_until(lambda: events(log_b, "standby_refresh"), CEILING)
        assert warm, log_b.read_text()
        assert warm[0]["parsed"] == files, "the standby parsed everything while standing by"
        assert events(log_b, "build") == []
        write("s0001.md", article(1, " (edited)"))
        stop(a, signal.SIGKILL)
        taken = wait_until(lambda: [e for e in events(log_b, "leadership") if e["leader"]], CEILING)
        assert taken, log_b.read_text()
        built = wait_until(lambda: events(log_b, "build"), CEILING)
        assert built, log_b.read_text()
        delay = datetime.fromisoformat(built[0]["time"]) - datetime.fromisoformat(taken[0]["time"])
        assert delay < timedelta(seconds=30), delay
        assert built[0]["status"] == "published"
        assert built[0]["parsed"] == 1, "only the file edited since the standby's refresh"
        drift = events(log_b, "settings_drift")
        assert drift and drift[0]["level"] == "warning", log_b.read_text()
        assert drift[0]["settings"] == "dead_link_policy,feed_size"
        assert "feed_size: published 10, this clock 7" not in drift[0]["detail"]  # 50 is default
        assert "feed_size: published 50, this clock 7" in drift[0]["detail"]
        assert store.generation_settings()[1]["feed_size"] == 7
    finally:
        stop(a, signal.SIGKILL)
        if b is not None:
            stop(b)


def test_a_stopping_leader_keeps_its_lease_until_its_job_is_done_then_gives_it_up(
        write, settings_for, tmp_path):
    # A cold build that lasts several lease periods: the check below that it did outlive
    # an unrenewed lease keeps this test from passing without testing anything (builds
    # got faster, so 2,000 files no longer sufficed). A lease of 4 s, renewed every 1.3:
    # with 2 s, a busy machine let a renewal come late enough for the lease to lapse
    # mid-build, so the build takes more files to outlive the longer lease: 12,000 did
    # until parsing got a tenth faster and a build finished 3.9 s after the stop.
    files = 24000
    for n in range(files):
        write(f"s{n:05d}.md", article(n))
    settings = settings_for(write.root, build_interval=3600, clock_lease_seconds=4)
    store = store_for(settings)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_process(["clock", "--no-links"], settings, log_a,
                      {"FEEDSVC_CACHE_DIR": str(tmp_path / "cache-a")})
    b = None
    try:
        holder_a = holder(log_a)
        assert wait_until(lambda: [e for e in events(log_a, "leadership") if e["leader"]], CEILING)
        b = start_process(["clock", "--no-links"], settings, log_b,
                          {"FEEDSVC_CACHE_DIR": str(tmp_path / "cache-b")})
        holder(log_b)
        assert events(log_a, "build") == [], "the build is still running"
        stop_sent = datetime.now(UTC)
        a.send_signal(signal.SIGTERM)
        samples: list[tuple[datetime, tuple[str, datetime] | None]] = []
        deadline = time.monotonic() + CEILING
        while a.poll() is None and time.monotonic() < deadline:
            samples.append((datetime.now(UTC), store.lease("clock")))
            time.sleep(0.2)  # a sampling period, not a wait for an event
        assert a.wait(CEILING) == 0, log_a.read_text()
        built = events(log_a, "build")
        assert built and built[0]["status"] == "published", log_a.read_text()
        finished = datetime.fromisoformat(built[0]["time"])
        assert finished - stop_sent > timedelta(seconds=settings.clock_lease_seconds + 1), \
            "the job outlived an unrenewed lease"
        while_working = [(t, lease) for t, lease in samples if t < finished]
        assert while_working
        for when, lease in while_working:
            assert lease is not None and lease[0] == holder_a and lease[1] > when, (when, lease)
        released = [e for e in events(log_a, "leadership") if e.get("reason") == "shutdown"]
        assert released, log_a.read_text()
        taken = wait_until(lambda: [e for e in events(log_b, "leadership") if e["leader"]], CEILING)
        assert taken, log_b.read_text()
        assert datetime.fromisoformat(taken[0]["time"]) >= datetime.fromisoformat(released[0]["time"])
        assert datetime.fromisoformat(taken[0]["time"]) - datetime.fromisoformat(released[0]["time"]) \
            < timedelta(seconds=settings.clock_lease_seconds + 2), "released, so taken at once"
    finally:
        stop(a, signal.SIGKILL)
        if b is not None:
            stop(b)
