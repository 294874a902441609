"""Whether links are being checked, when the last run was and when the next one is.

The clock records what it does in the store (feedsvc.clock: `clock` and
`last_link_run`); the web process, which never checks links itself, reads
those records so its pages say "checking is off" instead of promising a check
that will never come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from feedsvc.opsstate import LINK_RUN_STATE
from feedsvc.render.timefmt import parse_time

CLOCK_STATE = "clock"  # store state keys the clock writes (and LINK_RUN_STATE, re-exported)
__all__ = ["CLOCK_STATE", "LINK_RUN_STATE", "STALE_INTERVALS", "CheckingState", "checking_state"]
# A clock that has not reported for this many build intervals is taken as gone.
STALE_INTERVALS = 3


@dataclass(frozen=True)
class CheckingState:
    on: bool
    off_reason: str  # what to tell people when `on` is false
    interval: float | None = None
    last_run: datetime | None = None
    last_run_checked: int | None = None
    next_run: datetime | None = None
    clock_seen: datetime | None = None


def checking_state(clock: dict[str, Any] | None, last_run: dict[str, Any] | None,
                   now: datetime) -> CheckingState:
    """Pure: the two store records and the time, as what the pages say."""
    run_at = parse_time((last_run or {}).get("at"))
    checked = (last_run or {}).get("checked")
    checked = checked if isinstance(checked, int) else None
    seen = parse_time((clock or {}).get("at"))
    if clock is None or seen is None:
        return CheckingState(False, "Link checking is off: no clock process has run against this "
                             "store (start feedsvc clock, or feedsvc serve --check-links).",
                             last_run=run_at, last_run_checked=checked)
    build_interval = float(clock.get("build_interval") or 300)
    if now - seen > timedelta(seconds=STALE_INTERVALS * build_interval + 60):
        return CheckingState(False, "Link checking is off: the clock process has not run since "
                             f"{seen:%d %B %Y, %H:%M} UTC.", last_run=run_at, last_run_checked=checked,
                             clock_seen=seen)
    if not clock.get("check_links"):
        return CheckingState(False, "Link checking is off: the clock runs without it "
                             "(--no-links, or feedsvc serve without --check-links).",
                             last_run=run_at, last_run_checked=checked, clock_seen=seen)
    interval = float(clock.get("linkcheck_interval") or 0) or None
    next_run = parse_time((last_run or {}).get("next_at"))
    if next_run is None and interval is not None:
        next_run = seen + timedelta(seconds=min(30.0, interval))  # the first run, soon after start
    return CheckingState(True, "", interval, run_at, checked, next_run, seen)
