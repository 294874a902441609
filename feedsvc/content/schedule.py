"""The editor's calendar: which articles are published now, and what changes when.

An article dated in the future is *scheduled*: it is in no published document
(feeds, archives, pages, the search index, the API, OPML counts, the link
checker) until its time. An article whose `expiryDate` has passed is
*expired*: it leaves every document the same way, while its file keeps its id
reserved (the loader still sees it, so no other file can take the id). Both
are decided here, at the build's `now`, and the changes still to come are
returned so that the clock can arm a build for the soonest one: the article is
published within seconds of its time, whatever the build interval.

A feed's own dates (`updated`, `lastBuildDate`, Last-Modified) come from the
articles published, so a scheduled one can never move them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from feedsvc.models import Article, ScheduleAction, ScheduledChange


class CalendarState(StrEnum):
    """Where an article stands on the calendar at a given moment."""

    PUBLISHED = "published"
    SCHEDULED = "scheduled"  # dated after that moment
    EXPIRED = "expired"      # its expiryDate has passed


def calendar_state(article: Article, now: datetime) -> CalendarState:
    """The one rule of the calendar: expired once `expires` has come, scheduled while
    `published` is still to come, published otherwise."""
    if article.expires is not None and article.expires <= now:
        return CalendarState.EXPIRED
    if article.published > now:
        return CalendarState.SCHEDULED
    return CalendarState.PUBLISHED


def published_now(articles: Iterable[Article], now: datetime,
                  ) -> tuple[list[Article], tuple[ScheduledChange, ...]]:
    """(the articles to publish at `now`, the changes still to come, soonest first).

    A scheduled article with an expiry has both changes listed; an article
    already expired has none (nothing more happens to it)."""
    published: list[Article] = []
    changes: list[ScheduledChange] = []
    for article in articles:
        state = calendar_state(article, now)
        if state is CalendarState.EXPIRED:
            continue
        if state is CalendarState.SCHEDULED:
            changes.append(_change(article, article.published, ScheduleAction.PUBLISH))
        else:
            published.append(article)
        if article.expires is not None:
            changes.append(_change(article, article.expires, ScheduleAction.EXPIRE))
    changes.sort(key=lambda c: (c.at, c.path, c.action))
    return published, tuple(changes)


def _change(article: Article, at: datetime, action: ScheduleAction) -> ScheduledChange:
    return ScheduledChange(at, action, article.source, article.id, article.title, article.topic_names)


def schedule_key(changes: Iterable[ScheduledChange]) -> str:
    """What the published set depends on besides the content: the changes still to
    come. One passing (an article due, one expired) changes it, so the build that
    follows publishes instead of finding nothing changed."""
    return ";".join(f"{c.action}:{c.article_id}@{c.at.isoformat()}" for c in changes)
