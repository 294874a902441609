"""A broken hub never delays a build: a real clock process against misbehaving hubs.

The clock rebuilds every second while its hub never answers, fails with 500 or
resets every connection. Every edit must still be published within seconds,
no build may wait for a ping (a build is skipped only while another runs), pings wait in the store (one per
feed, however many edits), and when the hub recovers each feed is pinged once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from feedsvc.store import websub_queue
from tests.cluster.hub import Hub
from tests.cluster.test_fencing import CEILING
from tests.test_clock import events, start_process, stop, store_for, story, wait_until

EDITS = 3
PING_BUDGET = 3  # seconds a WebSub run may spend on its pings


def events_matching(log, text: str) -> list[dict]:
    """Log records (the scheduler's own, say) whose message contains `text`."""
    return [json.loads(line) for line in log.read_text().splitlines()
            if line.startswith("{") and text in line]


@pytest.mark.parametrize("mode", ["never", "fail", "reset"])
def test_builds_keep_their_schedule_while_the_hub_is_broken(write, settings_for, tmp_path, mode):
    for n in range(6):
        write(f"s{n}.md", story(n, "Privacy" if n % 2 else "Regulation"))
    hub = Hub(mode)
    settings = settings_for(write.root, build_interval=1, clock_lease_seconds=3, websub_hub=hub.url)
    db = store_for(settings)
    log = tmp_path / "clock.log"
    process = start_process(["clock", "--no-links"], settings, log, {
        "FEEDSVC_WEBSUB_HUB": hub.url, "FEEDSVC_WEBSUB_INTERVAL": "1",
        "FEEDSVC_WEBSUB_BUDGET": str(PING_BUDGET), "FEEDSVC_WEBSUB_RETRY_SECONDS": "1"})
    try:
        assert wait_until(lambda: [e for e in events(log, "build") if e["status"] == "published"],
                          CEILING), log.read_text()
        assert wait_until(lambda: events(log, "websub_ping_failed"), CEILING), \
            [line for line in log.read_text().splitlines() if '"event": "build"' not in line]
        for edit in range(EDITS):
            mark = f"(edit {edit})".encode()
            write("s1.md", story(1, "Privacy", f" (edit {edit})"))
            edited_at = time.monotonic()
            shown = wait_until(lambda mark=mark: mark in db.read("feeds/all.atom")[1], CEILING)
            assert shown, log.read_text()
            # Published within a few build intervals, although every ping of the
            # previous edits is hanging, failing or being reset right now.
            took = time.monotonic() - edited_at
            assert took < 5, took
        builds = events(log, "build")
        first = datetime.fromisoformat(builds[0]["time"])
        skipped = [datetime.fromisoformat(e["time"]) for e in events_matching(log, "Clock.build_job")
                   if "skipped" in e["event"] and datetime.fromisoformat(e["time"]) > first]
        # A build whose time came while the previous build still ran is skipped (one at a
        # time); on a loaded machine a build can outlast the one-second interval. What the
        # hub must never do is hold a build up: every skip falls within a build that ran
        # for less than the ping budget (a ping waited for inside a build, from a hub that
        # never answers, would make it last the whole budget).
        running = [(datetime.fromisoformat(e["time"]) - timedelta(seconds=e["duration_s"]),
                    datetime.fromisoformat(e["time"]), e["duration_s"]) for e in builds]
        for at in skipped:
            assert any(start <= at <= end and took < PING_BUDGET for start, end, took in running), \
                (at, running)
        assert all(e["duration_s"] < 5 for e in events(log, "build")), events(log, "build")
        backlog = db.websub_backlog()
        assert backlog["failing"] + backlog["pending"] == 9, backlog  # all, privacy, regulation x 3
        assert backlog["failing"] >= 1 and backlog["oldest_age_s"] > 0
        # four publishes changed the privacy feeds, yet each has one row: coalesced
        assert hub.pings == []

        # Recover the hub once every queued ping has failed at least once since it was last
        # queued (so no run still holds a ping for an older generation of its feed, which
        # would rightly be pinged once more for the newer one).
        def settled() -> bool:
            with db.engine.connect() as conn:
                attempts = list(conn.execute(select(websub_queue.c.attempts)).scalars())
            return len(attempts) == 9 and all(n >= 1 for n in attempts)

        assert wait_until(settled, CEILING), db.websub_backlog()
        hub.mode = "ok"
        assert wait_until(lambda: db.websub_backlog()["failing"] + db.websub_backlog()["pending"] == 0,
                          CEILING), (db.websub_backlog(), log.read_text()[-3000:])
        per_feed = Counter(hub.feeds())
        assert len(per_feed) == 9 and set(per_feed.values()) == {1}, per_feed
    finally:
        stop(process)
        hub.close()
    assert process.returncode == 0
