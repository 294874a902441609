"""Every clock checks links: a standby checks its share and publishes nothing; the leader
publishes what the standby found at its next build."""

from __future__ import annotations

from datetime import UTC, datetime

from feedsvc.clock import Clock
from feedsvc.store.linkstore import LinkStore
from tests.links.conftest import RESOLVER
from tests.links.test_links_end_to_end import entries, linked  # noqa: F401 - the shared fixture


def test_a_standby_checks_links_and_never_publishes(linked, server):  # noqa: F811
    settings, store = linked
    leader = Clock(settings, store, holder="leader", resolver=RESOLVER)
    standby = Clock(settings, store, holder="standby", resolver=RESOLVER)
    assert leader.renew_lease(build_now=False) and not standby.renew_lease(build_now=False)
    published = store.publishers()
    generation = store.current_generation()

    if settings.database_url.startswith("sqlite"):  # no row locks: the leader checks alone
        assert standby.links_job() is None
        assert {s.status for s in LinkStore(store).states().values()} == {"unchecked"}
        return
    report = standby.links_job()
    assert report is not None and report.checked == 3
    assert not standby.leader
    assert store.current_generation() == generation and store.publishers() == published
    states = LinkStore(store).states()
    assert {s.status for s in states.values()} == {"ok", "broken", "redirected"}
    assert LinkStore(store).due(datetime.now(UTC)) == []
    assert LinkStore(store).daily_counts() == [], "the day's snapshot is the leader's"

    assert leader.links_job() is None  # nothing left due: the standby took it all
    standby.build_job()  # a standby's build only warms its cache
    assert store.current_generation() == generation
