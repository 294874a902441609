"""What a claim hands a checker (feedsvc.store.linkclaims), on real SQLite and PostgreSQL
stores: each free host with URLs to check, and with it its most overdue URLs, up to the
batch size. The two databases read the batches with different statements (PostgreSQL one
host at a time from its index, SQLite through a window); both must hand over the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from feedsvc.links.hosts import host_of
from feedsvc.models import LinkStatus
from feedsvc.store import Store, links
from feedsvc.store.linkclaims import LinkClaims
from feedsvc.store.linkstore import rank_of

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
SINCE = T0 - timedelta(minutes=30)  # when the run began: checked after it, not again


def row(url: str, due_in_hours: float, *, active: bool = True,
        checked_at: datetime | None = None) -> dict[str, object]:
    return {"url": url, "status": LinkStatus.UNCHECKED, "code": None, "final_url": None,
            "permanent_redirect": False, "error": None, "checked_at": checked_at,
            "consecutive_failures": 0, "first_failure_at": None,
            "next_check_at": T0 + timedelta(hours=due_in_hours), "checks": 0, "dead": False,
            "active": active, "rank": rank_of(LinkStatus.UNCHECKED, False), "host": host_of(url)}


def test_a_claim_hands_over_each_hosts_most_overdue_urls_that_the_run_takes_on(database_url):
    store = Store(database_url)
    store.create()
    with store.engine.begin() as conn:
        conn.execute(insert(links), [
            row("https://a.example/1", -3),
            row("https://a.example/2", -1),
            row("https://a.example/3", -2),
            row("https://a.example/4", -5, active=False),  # no article uses it any more
            row("https://a.example/5", -4, checked_at=SINCE + timedelta(minutes=1)),  # done
            row("https://a.example/6", +1),  # not due yet
            row("https://a.example/7", -3),  # as overdue as /1: after it, by URL
            row("https://a.example/8", -3),  # and after /7: past the batch
            row("https://b.example/1", -1),
            row("https://c.example/1", +2),  # its host has nothing due
        ])

    first = LinkClaims(store, "first", ttl=60, clock=lambda: T0)
    claims = first.claim(hosts=5, per_host=2, due_by=T0, unchecked_since=SINCE)
    assert {claim.host: claim.urls for claim in claims} == {
        "a.example": ("https://a.example/1", "https://a.example/7"),
        "b.example": ("https://b.example/1",),
    }
    assert all(claim.not_before is None for claim in claims)

    # Every active URL (`links check --all`): due or not, but only from hosts nobody holds.
    second = LinkClaims(store, "second", ttl=60, clock=lambda: T0)
    claims = second.claim(hosts=5, per_host=10, due_by=None, unchecked_since=SINCE)
    assert {claim.host: claim.urls for claim in claims} == {"c.example": ("https://c.example/1",)}
    store.close()
