"""When a link is dead, and when it is checked again: pure rules, injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from feedsvc.links.checker import CheckResult
from feedsvc.links.policy import LinkRules, apply_result, archive_url, spread

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
RULES = LinkRules(dead_after_failures=3, dead_after=timedelta(hours=24),
                  ok_interval=timedelta(days=7), retry_base=timedelta(hours=2))
URL = "https://news.example/story"


def result(status: str, at: datetime, code: int | None = None) -> CheckResult:
    return CheckResult(URL, status, code, URL, False, None if status == "ok" else "x", at, 5)


def run(*checks: tuple[str, float]):
    state = None
    for status, hours in checks:
        state = apply_result(state, result(status, T0 + timedelta(hours=hours)), RULES)
    return state


def test_dead_only_after_three_failures_spread_over_a_day():
    assert not run(("broken", 0), ("broken", 2), ("broken", 4)).dead          # 3 in 4 hours
    assert not run(("broken", 0), ("broken", 30)).dead                        # 2 over a day
    assert run(("broken", 0), ("error", 12), ("broken", 24)).dead             # 3 over 24 h
    assert run(("error", 0), ("error", 6), ("error", 12), ("error", 30)).dead


def test_success_resets_and_blocked_changes_nothing():
    recovered = run(("broken", 0), ("broken", 12), ("ok", 20), ("broken", 30))
    assert recovered.consecutive_failures == 1 and recovered.first_failure_at == T0 + timedelta(hours=30)
    walled = run(("broken", 0), ("blocked", 12), ("broken", 24))
    assert walled.consecutive_failures == 2 and not walled.dead
    assert run(("broken", 0), ("blocked", 12), ("broken", 24), ("broken", 25)).dead
    assert run(("blocked", 0), ("blocked", 48), ("blocked", 96)).consecutive_failures == 0


def test_failing_links_back_off_healthy_links_spread_over_days():
    assert run(("broken", 0)).next_check_at == T0 + timedelta(hours=2)
    assert run(("broken", 0), ("broken", 2)).next_check_at == T0 + timedelta(hours=6)
    many = run(*[("error", h) for h in range(0, 200, 20)])
    assert many.next_check_at - many.checked_at == timedelta(days=1)
    healthy = run(("ok", 0))
    delay = healthy.next_check_at - T0
    assert timedelta(days=3.5) <= delay < timedelta(days=10.5)
    assert delay == timedelta(days=7) * (0.5 + spread(URL))


def test_spread_is_even_and_stable():
    values = [spread(f"https://e.test/{n}") for n in range(10_000)]
    assert spread("https://e.test/1") == values[1]
    buckets = [0] * 10
    for value in values:
        buckets[int(value * 10)] += 1
    assert min(buckets) > 900 and max(buckets) < 1100


def test_archive_url_needs_no_network():
    assert archive_url("https://news.example/a?b=1", datetime(2020, 6, 10, 22, 11, tzinfo=UTC)) == \
        "https://web.archive.org/web/20200610221100/https://news.example/a?b=1"


def test_a_deferred_check_changes_nothing_but_the_next_check():
    failing = run(("broken", 0), ("broken", 12))
    later = T0 + timedelta(hours=14)
    wait_until = later + timedelta(minutes=2)
    deferred = CheckResult(URL, "deferred", 503, URL, False, "asked to wait", later, 0,
                           retry_at=wait_until)
    state = apply_result(failing, deferred, RULES)
    assert state == replace(failing, next_check_at=wait_until)
    queued = CheckResult(URL, "deferred", None, URL, False, "not reached", later, 0)
    assert apply_result(failing, queued, RULES) == failing  # still due: first next run
    fresh = apply_result(None, queued, RULES)
    assert (fresh.status, fresh.checks, fresh.next_check_at) == ("unchecked", 0, later)


def test_blocked_with_retry_after_is_not_asked_before_it():
    far = T0 + timedelta(days=30)
    walled = CheckResult(URL, "blocked", 429, URL, False, "HTTP 429", T0, 5, retry_at=far)
    state = apply_result(None, walled, RULES)
    assert (state.status, state.consecutive_failures, state.next_check_at) == ("blocked", 0, far)
    soon = CheckResult(URL, "blocked", 429, URL, False, "HTTP 429", T0, 5,
                       retry_at=T0 + timedelta(minutes=2))
    assert apply_result(None, soon, RULES).next_check_at == run(("blocked", 0)).next_check_at


def test_daily_counts_are_numbers(tmp_path):
    """The trend chart reads whole numbers per day and status."""
    from feedsvc.store import Store
    from feedsvc.store.linkstore import LinkStore

    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.create()
    links = LinkStore(store)
    links.record([result("ok", T0, 200), replace(result("broken", T0, 404), url=URL + "/gone")], RULES)
    links.snapshot(T0)
    counts = links.daily_counts()
    assert counts and counts[-1][0] == T0.date()
    assert all(isinstance(n, int) for _, by_status in counts for n in by_status.values())
