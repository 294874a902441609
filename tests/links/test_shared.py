"""The pacing of a shared run's writes (feedsvc.links.shared.record_tick), a pure decision.

The runs themselves, several real processes over one store, are in
test_shared_checking.py."""

from __future__ import annotations

import pytest

from feedsvc.links.shared import record_tick


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
