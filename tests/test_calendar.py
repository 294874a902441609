"""The editor's calendar with real processes and real time.

`feedsvc serve` and the Procfile's `feedsvc clock`, each with an hour-long build
interval, must publish an article dated a few seconds ahead within seconds of
its time and never before, with its WebSub ping; a clock that takes over from a
killed leader must do the same. The scheduled article is in no answer before its
time; after it, real clients read it with its URLs as the file means them.
Every wait is for an event (a log line, a feed holding the article), with
generous ceilings; nothing sleeps for a duration tuned to this machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.cluster.hub import Hub
from tests.cluster.test_failover import cluster_settings, start_pair
from tests.test_clock import events, start_process, stop, store_for, wait_until
from tests.test_serve_watch import Terminal
from tests.web.test_server import free_port

CEILING = 120.0
AHEAD = 15  # seconds: far enough for the process to start and publish once before
HOUR = 3600


def article(title: str, when: datetime, extra: str = "", body: str = "") -> str:
    return (f"---\ntitle: {title}\ndate: {when.isoformat()}\nurl: https://news.example/{title.lower()}\n"
            f"tags: [Privacy]\n{extra}---\n{body or f'Body of {title}.'}\n")


def soon() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=AHEAD)


def feed_text(store) -> bytes:
    found = store.read("feeds/all.atom")
    return found[1] if found is not None else b""


def published_at(store, marker: bytes) -> datetime:
    """When the first generation holding `marker` in the all feed was created."""
    for generation, created, *_ in store.publishers():
        docs = {d.path: d for d in store.documents(generation)}
        if marker in store.body(docs["feeds/all.atom"].blob_hash):
            return created
    raise AssertionError(f"no generation holds {marker!r}")


def test_the_clock_publishes_a_scheduled_article_at_its_time_with_its_ping(write, settings_for, tmp_path):
    hub = Hub()
    write("old.md", article("Old", datetime(2026, 11, 1, tzinfo=UTC)))
    at = soon()
    write("soon.md", article("Soon", at))
    settings = settings_for(write.root, build_interval=HOUR, websub_hub=hub.url)
    store = store_for(settings)
    log = tmp_path / "clock.log"
    clock = start_process(["clock", "--no-links"], settings, log,
                          {"FEEDSVC_WEBSUB_HUB": hub.url, "FEEDSVC_WEBSUB_INTERVAL": "1"})
    try:
        first = wait_until(lambda: [e for e in events(log, "build") if e["status"] == "published"],
                           CEILING)
        assert first, log.read_text()
        assert datetime.now(UTC) < at, "the first build came too late for this test to mean anything"
        assert b"Old" in feed_text(store) and b"Soon" not in feed_text(store)
        armed = wait_until(lambda: events(log, "schedule_armed"), CEILING)
        assert armed and datetime.fromisoformat(armed[0]["at"]) == at, log.read_text()
        assert wait_until(lambda: b"Soon" in feed_text(store), AHEAD + CEILING), log.read_text()
        when = published_at(store, b"Soon")
        assert at <= when < at + timedelta(seconds=CEILING), (at, when)  # not an hour later
        # the hub hears of the change once the article is out (monotonic times, as it records)
        due = time.monotonic() - (datetime.now(UTC) - at).total_seconds()
        assert wait_until(lambda: [f for t, f in hub.pings if t >= due and f.endswith("/feeds/all.atom")],
                          CEILING), hub.pings
    finally:
        stop(clock)
        hub.close()


def test_a_clock_that_takes_over_arms_the_schedule_again(write, postgres_url, tmp_path):
    write("old.md", article("Old", datetime(2026, 11, 1, tzinfo=UTC)))
    at = soon() + timedelta(seconds=10)
    write("soon.md", article("Soon", at))
    settings = cluster_settings(write.root, postgres_url, tmp_path, build_interval=HOUR,
                                clock_lease_seconds=3)
    store, a, b, (log_a, log_b), (_, holder_b), _ = start_pair(write, settings, tmp_path, files=0)
    try:
        assert wait_until(lambda: events(log_a, "schedule_armed"), CEILING), log_a.read_text()
        os.killpg(a.pid, signal.SIGKILL)
        a.wait(10)
        assert datetime.now(UTC) < at, "the takeover came too late for this test to mean anything"
        armed = wait_until(lambda: events(log_b, "schedule_armed"), CEILING)
        assert armed and datetime.fromisoformat(armed[0]["at"]) == at, log_b.read_text()
        assert wait_until(lambda: b"Soon" in feed_text(store), AHEAD + CEILING), log_b.read_text()
        when = published_at(store, b"Soon")
        assert at <= when < at + timedelta(seconds=CEILING), (at, when)
        assert [(by, epoch) for _, created, by, epoch in store.publishers() if created >= at] \
            == [(holder_b, 2)]
    finally:
        stop(a)
        stop(b)


@pytest.fixture
def serving_schedule(tmp_path):
    """`feedsvc serve` with an hour-long build interval over a content directory holding
    an article due in a few seconds."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "old.md").write_text(article("Old", datetime(2026, 11, 1, tzinfo=UTC)))
    at = soon()
    (content / "soon.md").write_text(article(
        "Soon", at, extra="image: https://cdn.example/openai.jpg?w=1200&#038;strip=all\n",
        body="![a chart](images/chart.png) and [our topics](../topics/privacy)."))
    port = free_port()
    env = {**os.environ, "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path}/store.sqlite3",
           "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "1",
           "FEEDSVC_BUILD_INTERVAL": str(HOUR), "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
           "TERM": "xterm"}
    terminal = Terminal([sys.executable, "-m", "feedsvc.cli", "serve", "--content", "content",
                         "--port", str(port)], tmp_path, env)
    try:
        terminal.wait_for("Watching content for changes")
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _answers(f"{base}/healthz"), CEILING), terminal.text
        yield terminal, base, at
    finally:
        terminal.interrupt()
        os.close(terminal.master)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_publishes_a_scheduled_article_at_its_time_and_never_before(serving_schedule):
    terminal, base, at = serving_schedule
    assert "soon.md: scheduled: publishes at" in terminal.text
    status = httpx.get(f"{base}/status", headers={"Accept": "application/json"}, timeout=10).json()
    assert [(c["path"], c["action"], c["at"]) for c in status["scheduled"]] == \
        [("soon.md", "publish", at.isoformat())]
    seen_before = 0
    deadline = time.monotonic() + AHEAD + CEILING
    while time.monotonic() < deadline:
        body = httpx.get(f"{base}/feeds/all.json", timeout=10).content
        received = datetime.now(UTC)
        if b"Soon" in body:
            assert received >= at, "published before its time"
            break
        assert received < at + timedelta(seconds=CEILING)
        seen_before += 1
        time.sleep(0.2)  # the poll interval of a very eager reader
    else:
        pytest.fail(f"never published:\n{terminal.text}")
    assert seen_before > 0
    for path in ("/", "/topics/privacy", "/api/search.json", "/articles/soon"):
        assert httpx.get(f"{base}{path}", timeout=10).status_code == 200
    assert httpx.get(f"{base}/status", headers={"Accept": "application/json"},
                     timeout=10).json()["scheduled"] == []


def test_a_scheduled_article_is_in_no_answer_before_its_time(serving_schedule):
    _terminal, base, at = serving_schedule
    answers = {}
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/feeds/privacy.atom",
                 "/", "/topics/privacy", "/api/search.json", "/api/topics", "/feeds.opml",
                 "/links", "/api/links", "/api/topics/privacy/articles"):
        response = httpx.get(f"{base}{path}", timeout=10)
        answers[path] = (response.status_code, b"Soon" in response.content)
    assert datetime.now(UTC) < at, "too slow for this test to mean anything"
    assert answers == dict.fromkeys(answers, (200, False))
    assert httpx.get(f"{base}/articles/soon", timeout=10).status_code == 404


def test_real_clients_read_the_scheduled_articles_urls_as_the_file_means_them(serving_schedule):
    from tests.readers.clients import (
        IMAGE_FORMATS,
        node_problem,
        read_all_node,
        read_feedparser,
        read_jsonfeed,
    )

    _terminal, base, _at = serving_schedule
    assert wait_until(lambda: b"Soon" in httpx.get(f"{base}/feeds/all.atom", timeout=10).content,
                      AHEAD + CEILING)
    image = "https://cdn.example/openai.jpg?w=1200&strip=all"
    chart = f"{base}/articles/images/chart.png"
    reads = [read_feedparser(f"{base}/feeds/all.{fmt}", fmt) for fmt in ("rss", "atom")]
    reads.append(read_jsonfeed(f"{base}/feeds/all.json", "json"))
    problem = node_problem()
    if problem is None:
        reads += read_all_node([(f"{base}/feeds/all.{fmt}", fmt) for fmt in ("rss", "atom", "json")])
    for read in reads:
        assert read.error is None, (read.client, read.fmt, read.error)
        [item] = [i for i in read.items if i.title == "Soon"]
        if read.fmt in IMAGE_FORMATS[read.client]:  # rss-parser shows no image of an Atom entry
            assert image in item.images, (read.client, read.fmt, item.images)
        if read.client != "feed-extractor" or read.fmt != "json":  # it hands JSON bodies over as text
            assert chart in item.content and f"{base}/topics/privacy" in item.content, \
                (read.client, read.fmt, item.content)
    if problem is not None:
        pytest.skip(f"feedparser and the JSON Feed reader checked; the Node clients could not run: {problem}")
