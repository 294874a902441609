"""A shared run's pacing: how often it writes (record_tick, a pure decision) and how
often its threads switch.

Several real processes over one store are in test_shared_checking.py."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from feedsvc.links.shared import SWITCH_INTERVAL, Share, record_tick, run_shared_check
from tests.links.conftest import RESOLVER
from tests.links.test_links_end_to_end import linked  # noqa: F401 - the shared fixture


@pytest.mark.parametrize(("rate", "shortest", "tick"), [
    # Concurrency 400 on loopback: about 4,000 results a second. 500 of them take an
    # eighth of a second, and the tick stays at its shortest, a quarter.
    (4000.0, 0.25, 0.25),
    # Concurrency 100: 1,000 a second fill a 500-result write in half a second.
    (1000.0, 0.25, 0.5),
    # Concurrency 20: 200 a second would take 2.5 s to fill one; one second at most.
    (200.0, 0.25, 1.0),
    # No result yet in the window (every host waiting on slow servers): the longest.
    (0.0, 0.25, 1.0),
    # A gap between two requests to a host longer than the longest tick: the gap.
    (3.0, 1.5, 1.5),
    (5000.0, 1.5, 1.5),
])
def test_the_tick_is_as_long_as_a_full_write_takes_within_its_bounds(rate, shortest, tick):
    assert record_tick(rate, shortest) == pytest.approx(tick)


@pytest.mark.parametrize("gap", [0.0, 0.05])
def test_a_run_switches_threads_more_often_only_without_a_gap(linked, gap):  # noqa: F811
    """The store threads' work competes with the loop for the GIL: a run without a gap
    (answers come as fast as the sites give them) has them switch every 0.5 ms, and puts
    the interval back after; with a gap (the defaults) the interval is left alone."""
    settings, store = linked
    before = sys.getswitchinterval()
    assert before != SWITCH_INTERVAL, "the interpreter's interval must differ to tell them apart"
    seen: list[float] = []
    report = run_shared_check(replace(settings, linkcheck_host_gap=gap), store, Share("one"),
                              resolver=RESOLVER, on_result=lambda _: seen.append(sys.getswitchinterval()))
    assert report.checked == 3 and len(seen) == 3
    assert set(seen) == ({SWITCH_INTERVAL} if gap == 0 else {before})
    assert sys.getswitchinterval() == before
