"""One article per id, and one per story (original URL), at the build's time.

Two files with one id are an error: an id must name one story, so the second
in path order is skipped. Two files with one original URL are the same story
told twice, typically an event that was rescheduled and got a new file: the
newest (by publication date, then path) is the one the editor means.

Which files compete for a URL depends on the calendar (`schedule.py`): an
article published now never loses its place to one that is still scheduled
(the newer file would otherwise take the story out of every feed until its
date) nor to one that has expired. Articles compete only with those in the
same state at `now`: published, scheduled or expired. A scheduled file that
will replace a published one is said, as information on the published one,
and the build at its time publishes it in the other's place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from feedsvc.content.problems import ContentError
from feedsvc.content.schedule import CalendarState, calendar_state
from feedsvc.models import Article, Severity


def story_key(url: str) -> str:
    """URLs that differ only by scheme, host case or a trailing slash are the same story."""
    _scheme, _, rest = url.partition("://")
    host, _slash, path = rest.partition("/")
    return f"{host.lower()}/{path.rstrip('/')}"


def drop_duplicates(articles: list[Article], now: datetime | None,
                    ) -> tuple[list[Article], list[ContentError]]:
    """The articles with one per id and, among those in the same state at `now`, one
    per original URL; a problem for each one left out, and an info line for each
    published article a scheduled one will replace. Without `now` (no calendar:
    FEEDSVC_PUBLISH_FUTURE) every article is published, so all compete."""
    unique, problems = _one_per_id(articles)
    dropped: set[str] = set()
    winners: dict[CalendarState, dict[str, Article]] = {}
    for state, group in _by_state(unique, now).items():
        if state is not CalendarState.EXPIRED:  # published nowhere: nothing to choose between
            winners[state] = _one_per_url(group, dropped, problems)
    published = winners.get(CalendarState.PUBLISHED, {})
    for key, scheduled in sorted(winners.get(CalendarState.SCHEDULED, {}).items()):
        current = published.get(key)
        if current is not None:
            problems.append(ContentError(
                f"{scheduled.source} has the same original URL and is scheduled for "
                f"{scheduled.published:%Y-%m-%d %H:%M} UTC: it replaces this one then",
                path=current.source, line=1, severity=Severity.INFO))
    return [a for a in unique if a.id not in dropped], problems


def _one_per_id(articles: Iterable[Article]) -> tuple[list[Article], list[ContentError]]:
    by_id: dict[str, Article] = {}
    unique: list[Article] = []
    problems: list[ContentError] = []
    for article in articles:
        first = by_id.get(article.id)
        if first is not None:
            problems.append(ContentError(
                f"duplicate id {article.id!r}: already used by {first.source}; skipped",
                path=article.source, line=1))
            continue
        by_id[article.id] = article
        unique.append(article)
    return unique, problems


def _by_state(articles: Iterable[Article], now: datetime | None,
              ) -> dict[CalendarState, list[Article]]:
    groups: dict[CalendarState, list[Article]] = {}
    for article in articles:
        state = CalendarState.PUBLISHED if now is None else calendar_state(article, now)
        groups.setdefault(state, []).append(article)
    return groups


def _newer_first(article: Article) -> tuple[float, str]:
    return (-article.published.timestamp(), article.source)


def _one_per_url(articles: list[Article], dropped: set[str],
                 problems: list[ContentError]) -> dict[str, Article]:
    """The newest article per story key; the others' ids added to `dropped`."""
    by_url: dict[str, Article] = {}
    for article in sorted(articles, key=_newer_first):
        key = story_key(article.original_url) if article.original_url else None
        if not key:
            continue
        winner = by_url.get(key)
        if winner is None:
            by_url[key] = article
            continue
        dropped.add(article.id)
        problems.append(ContentError(
            f"same original URL as {winner.source} ({article.original_url}); that file is "
            f"newer ({winner.published:%Y-%m-%d} against {article.published:%Y-%m-%d}), "
            "so it is published and this one is skipped", path=article.source, line=1,
            severity=Severity.WARNING))
    return by_url
