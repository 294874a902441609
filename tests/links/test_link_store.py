"""The link tables under the writers that share them: history kept to its length in one
statement a batch, and registrations by two processes at once (real SQLite and
PostgreSQL stores)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from feedsvc.links.checker import CheckResult
from feedsvc.links.hosts import host_of
from feedsvc.links.policy import LinkRules
from feedsvc.models import Article, LinkStatus
from feedsvc.store import Store, link_articles, links
from feedsvc.store.linkstore import HISTORY_PER_URL, LinkStore, rank_of

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
RULES = LinkRules(dead_after_failures=3, dead_after=timedelta(hours=24),
                  ok_interval=timedelta(days=7), retry_base=timedelta(hours=2))


def check(url: str, minute: int) -> CheckResult:
    return CheckResult(url, "ok", 200, url, False, None, T0 + timedelta(minutes=minute), 5)


def article(n: int) -> Article:
    return Article(id=f"tag:t,2026:a{n}", stem=f"a{n}", source=f"a{n}.md", title=f"A {n}",
                   summary="", content_html="", published=T0, updated=T0,
                   original_url=f"https://news.example/a{n}", self_published=False,
                   topic_names=())


def test_history_keeps_each_urls_newest_checks(database_url):
    store = Store(database_url)
    store.create()
    recorder = LinkStore(store)
    busy, quiet = "https://news.example/busy", "https://news.example/quiet"
    for minute in range(HISTORY_PER_URL + 4):
        recorder.record([check(busy, minute)], RULES)
    recorder.record([check(quiet, 0), check(quiet, 1), check(busy, 100), check(busy, 101)], RULES)
    history = recorder.history([busy, quiet])
    assert len(history[quiet]) == 2
    kept = [line["checked_at"] for line in history[busy]]
    newest = sorted([(T0 + timedelta(minutes=m)).isoformat()
                     for m in (*range(HISTORY_PER_URL + 4), 100, 101)], reverse=True)
    assert kept == newest[:HISTORY_PER_URL]


def test_every_kind_of_value_is_stored_as_it_was_given(database_url):
    """Recording writes a batch's states and history in one statement each (on PostgreSQL
    from one JSON parameter): text with quotes, backslashes, commas, braces and non-ASCII
    letters, missing values, microseconds and a URL twice in one batch come back as given."""
    store = Store(database_url)
    store.create()
    recorder = LinkStore(store)
    odd = 'https://news.example/a,b{c}"d\\e?q=é'
    moved = "https://news.example/moved"
    when = T0 + timedelta(microseconds=123456)
    results = [
        CheckResult(odd, LinkStatus.ERROR, None, odd, False,
                    'reset: "peer" said {no}, \\ ünïcode, 日本', when, 7),
        CheckResult(moved, LinkStatus.REDIRECTED, 301, "https://other.example/new", True, None,
                    when, 12, redirects=1),
        CheckResult(odd, LinkStatus.BROKEN, 404, odd, False, "HTTP 404",
                    when + timedelta(seconds=1), 3),
    ]
    recorder.record(results[:2], RULES)  # both URLs known from here on: the update path
    recorder.record(results, RULES)
    states = recorder.states([odd, moved])
    assert (states[odd].status, states[odd].code, states[odd].error) == ("broken", 404, "HTTP 404")
    assert states[odd].checks == 3 and states[odd].consecutive_failures == 3
    assert states[odd].checked_at == when + timedelta(seconds=1)
    assert states[odd].first_failure_at == when
    assert (states[moved].status, states[moved].final_url, states[moved].permanent_redirect) == (
        "redirected", "https://other.example/new", True)
    assert states[moved].code == 301 and states[moved].error is None
    lines = recorder.history([odd])[odd]
    assert [line["status"] for line in lines] == ["broken", "error", "error"]
    assert lines[1]["error"] == 'reset: "peer" said {no}, \\ ünïcode, 日本'
    assert lines[1]["code"] is None and lines[1]["checked_at"] == when.isoformat()


def registrations_waiting_on_a_lock(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar() or 0)


def test_two_processes_registering_the_same_links_at_once_both_succeed(postgres_url):
    """The second registration looked before the first one committed, so it inserts rows
    that exist by the time it writes: it waits for the first and leaves them be."""
    store = Store(postgres_url)
    store.create()
    articles = [article(n) for n in range(3)]
    first = store.engine.connect()
    transaction = first.begin()
    # What a concurrent registration has written and not yet committed.
    first.execute(insert(link_articles), [
        {"url": a.original_url, "article_id": a.id, "title": a.title, "source": a.source,
         "published": a.published} for a in articles])
    first.execute(insert(links), [{
        "url": a.original_url, "status": LinkStatus.UNCHECKED, "permanent_redirect": False,
        "consecutive_failures": 0, "next_check_at": T0, "checks": 0, "dead": False,
        "active": True, "host": host_of(a.original_url or ""),
        "rank": rank_of(LinkStatus.UNCHECKED, False)} for a in articles])
    failures: list[BaseException] = []

    def register() -> None:
        try:
            LinkStore(Store(postgres_url)).register(articles, T0)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    second = threading.Thread(target=register)
    second.start()
    give_up = time.monotonic() + 120
    while not registrations_waiting_on_a_lock(store) and second.is_alive():
        assert time.monotonic() < give_up, "the second registration never reached the rows"
        time.sleep(0.05)
    transaction.commit()
    first.close()
    second.join(120)
    assert not second.is_alive() and failures == []
    states = LinkStore(store).states()
    assert sorted(states) == sorted(a.original_url for a in articles)
    assert len(LinkStore(store).articles(states)) == 3


def test_two_checkers_writing_the_days_snapshot_at_once_both_succeed(database_url):
    """Two `links check` processes that finish together both write the day's counts:
    they used to delete the day's rows and insert them anew, and the second insert
    met the first's rows (a duplicate key on PostgreSQL, which failed that run)."""
    store = Store(database_url)
    store.create()
    LinkStore(store).record([check("https://news.example/a", 0),
                             check("https://news.example/b", 1)], RULES)
    writers = [LinkStore(Store(database_url)) for _ in range(2)]
    start, failures = threading.Barrier(2), []

    def write(recorder: LinkStore) -> None:
        start.wait()
        for _ in range(40):
            try:
                recorder.snapshot(T0)
            except Exception as exc:  # noqa: BLE001 - collected, reported below
                failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    [(day, by_status)] = LinkStore(store).daily_counts()
    assert day == T0.date() and by_status["ok"] == 2 and sum(by_status.values()) == 2


def test_the_stored_rank_counts_follow_every_batch_that_moves_a_link(database_url):
    """The per-rank counts are adjusted by what each batch moved, not counted afresh, and a
    batch that moved nothing (working links found working again) leaves them alone: after
    every kind of batch they equal a count of the rows themselves."""
    store = Store(database_url)
    store.create()
    recorder = LinkStore(store)
    articles = [article(n) for n in range(6)]
    urls = [a.original_url for a in articles if a.original_url]
    recorder.register(articles, T0)  # as a build does: the counts stored, all unchecked

    def counted() -> dict[int, int]:
        with store.engine.connect() as conn:
            return {rank: n for rank, n in conn.execute(text(  # noqa: C416 - Row pairs
                "SELECT rank, count(*) FROM links WHERE active GROUP BY rank"))}

    assert recorder.rank_counts() == counted() == {rank_of(LinkStatus.UNCHECKED, False): 6}
    recorder.record([check(url, 0) for url in urls], RULES)  # all checked: all working
    assert recorder.rank_counts() == counted() == {rank_of(LinkStatus.OK, False): 6}
    recorder.record([check(url, 1) for url in urls[:4]], RULES)  # working again: no move
    assert recorder.rank_counts() == counted()
    gone = CheckResult(urls[0], "broken", 404, urls[0], False, "HTTP 404",
                       T0 + timedelta(minutes=2), 5)
    recorder.record([gone, check(urls[1], 2)], RULES)  # one moves, one does not
    assert recorder.rank_counts() == counted() == {rank_of(LinkStatus.OK, False): 5,
                                                   rank_of(LinkStatus.BROKEN, False): 1}
