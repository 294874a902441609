"""Dates as editors and the upstream feed write them, made timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime

_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
_SHORT_OFFSET = re.compile(r"([+-]\d{2})$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


class DateParseError(ValueError):
    pass


def parse_datetime(value: object) -> tuple[datetime, bool]:
    """Return (UTC datetime, was_naive).

    Accepts every ISO 8601 spelling seen upstream (`2020-04-06T10:26:00Z`,
    offsets with or without a colon, fractions, a space instead of `T`, a bare
    date) and RFC 822 dates copied from other feeds. A date without a time is
    midnight UTC and not reported as naive: it is exact to the day, as written.
    """
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC), False
    if not isinstance(value, str):
        raise DateParseError(f"expected a date, got {type(value).__name__} {value!r}")
    text = value.strip()
    if not text:
        raise DateParseError("the date is empty")
    if len(text) == 10 and text[4:5] == "-":
        try:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC), False
        except ValueError as exc:
            raise DateParseError(f"{text!r} is not a valid date ({exc})") from None
    iso = text
    if iso.endswith(("z", "Z")):
        iso = iso[:-1] + "+00:00"
    iso = _COMPACT_OFFSET.sub(r"\1:\2", iso) if "T" in iso or " " in iso else iso
    if re.search(r"[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{2}$", iso):
        iso = _SHORT_OFFSET.sub(r"\1:00", iso)
    try:
        return _to_utc(datetime.fromisoformat(iso))
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise DateParseError(
            f"{text!r} is not an ISO 8601 date such as 2024-03-13 or 2024-03-13T09:30:00Z")
    return _to_utc(parsed)


def _to_utc(value: datetime) -> tuple[datetime, bool]:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC), True
    return value.astimezone(UTC), False


def date_from_filename(name: str) -> datetime | None:
    """The `YYYY-MM-DD-` prefix of a file name as midnight UTC, if it has a valid one."""
    match = _DATE_PREFIX.match(name)
    if not match:
        return None
    try:
        year, month, day = (int(group) for group in match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
