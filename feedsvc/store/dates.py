"""The dates chosen once for undated articles, and the ids of articles that left.

One table serves both because both are "this id was published, on this date":
an undated article keeps the date it was first given, and an article that
leaves the feeds (deleted, or renamed without an `id:`) is remembered, so that
a file coming back under its first id is known as the article readers saw
(`feedsvc.content.renames`), and keeps its date if it comes back undated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, select

from feedsvc.store.common import StoreBase, _utc, in_batches
from feedsvc.store.tables import article_dates
from feedsvc.store.upsert import insert_ignoring_duplicates


class DatesMixin(StoreBase):
    """Dates of undated articles: chosen once, never moved."""

    def article_dates(self, ids: Iterable[str]) -> dict[str, datetime]:
        """The recorded date of each of these ids that has one."""
        recorded: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for id_chunk in in_batches(list(ids)):
                for article_id, when in conn.execute(
                        select(article_dates.c.article_id, article_dates.c.published)
                        .where(article_dates.c.article_id.in_(id_chunk))):
                    recorded[article_id] = _utc(when)
        return recorded

    def record_article_dates(self, proposed: Mapping[str, datetime]) -> dict[str, datetime]:
        """Every id's recorded date; ids not yet recorded get (and keep) the proposed one.
        An id another process recorded first keeps that process's date (read back)."""
        with self.engine.begin() as conn:
            remember_dates(conn, proposed)
        return self.article_dates(proposed)


def remember_dates(conn: Connection, dates: Mapping[str, datetime]) -> None:
    """In the caller's transaction (recording undated articles' dates, or retiring
    articles): keep each id with its date, unless one is recorded already (the
    first date stands)."""
    rows = [{"article_id": i, "published": _utc(when)} for i, when in dates.items()]
    first_wins = insert_ignoring_duplicates(conn.dialect.name, article_dates)
    for row_chunk in in_batches(rows):
        conn.execute(first_wins, list(row_chunk))
