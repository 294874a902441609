"""Dates and times as people read them: "23 May 2016", "1 December 2026, 14:05 UTC", "in 3 hours".

Published pages show only absolute dates (a build must not depend on the clock);
the live pages (/links, /status, an article's link status) add relative ones.
Every shown time sits in a `<time datetime>` whose attribute keeps the exact value.
"""

from __future__ import annotations

from datetime import UTC, datetime


def human_date(when: datetime) -> str:
    """`23 May 2016`: day without a leading zero, the month spelt out."""
    return f"{when.day} {when.strftime('%B %Y')}"


def human_datetime(when: datetime) -> str:
    """`1 December 2026, 14:05 UTC`: the zone said, since operators sit in many."""
    utc = when.astimezone(UTC)
    return f"{human_date(utc)}, {utc.strftime('%H:%M')} UTC"


def _amount(seconds: float) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"


def relative(when: datetime, now: datetime) -> str:
    """`3 hours ago`, `in 2 days`, `just now` (within a minute either way)."""
    delta = (when - now).total_seconds()
    if abs(delta) < 60:
        return "just now"
    return f"in {_amount(delta)}" if delta > 0 else f"{_amount(-delta)} ago"


def parse_time(value: object) -> datetime | None:
    """A stored ISO 8601 timestamp (or a datetime) as an aware datetime; None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
