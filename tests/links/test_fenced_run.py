"""Link-result writes are fenced on the clock's lease: a run that lost it records nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.errors import LeaseLost
from feedsvc.links.run import run_link_check
from feedsvc.store import Fence
from feedsvc.store.linkstore import LinkStore
from tests.links.conftest import RESOLVER
from tests.links.test_links_end_to_end import linked  # noqa: F401 - the shared fixture


def test_a_run_whose_lease_was_taken_mid_run_records_nothing(linked, server):  # noqa: F811
    settings, store = linked
    links = LinkStore(store)
    now = datetime.now(UTC)
    fence = Fence("clock", "a", store.claim_lease("clock", "a", 30, now))
    due = links.due(now)

    def take_over(_result) -> None:  # another clock takes the lease while this run checks
        store.claim_lease("clock", "b", 30, now + timedelta(seconds=60))

    with pytest.raises(LeaseLost):
        run_link_check(settings, store, due, resolver=RESOLVER, fence=fence, on_result=take_over)
    assert {s.status for s in links.states().values()} == {"unchecked"}
    assert all(h == [] for h in links.history(due).values())
    assert links.daily_counts() == [], "not even the day's snapshot"
    assert links.due(now) == due, "still due: the new leader checks them"

    report = run_link_check(settings, store, due, resolver=RESOLVER,
                            fence=Fence("clock", "b", store.lease_epoch("clock")))
    assert report.checked == 3
    assert "unchecked" not in {s.status for s in links.states().values()}
