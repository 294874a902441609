"""Renames that would re-deliver an article to every subscriber.

An article's id (and its page URL) come from its file name unless the front
matter gives an `id:`. Renaming the file therefore publishes the same story
under a new id, and every feed reader shows it again as a new item. This
module spots the pattern before it is published: a published id that no file
has any more, and a file not published yet with the same original URL.
Pure: the published articles are passed in (the store knows them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from feedsvc.content.duplicates import story_key
from feedsvc.models import Article, Problem, Severity


@dataclass(frozen=True, slots=True)
class PublishedArticle:
    """What the store remembers of a published article: enough to recognise it."""

    article_id: str
    url: str
    source: str


_RENAMED = "looks like "


def is_rename_warning(problem: Problem) -> bool:
    """Whether a problem is a rename warning: `build` shows those, because once the
    renamed file is published `check` no longer can (its id is then a published one)."""
    return problem.severity == Severity.WARNING and problem.reason.startswith(_RENAMED)


def rename_warnings(articles: Iterable[Article], published: Iterable[PublishedArticle],
                    once_published: Callable[[Iterable[str]], Iterable[str]] | None = None,
                    ) -> list[Problem]:
    """A warning on each new file that looks like a published one renamed, saying
    which `id:` line keeps the published identity.

    `once_published` answers which of some ids were published before and retired
    (the store remembers them): a file renamed and renamed back has its first id
    again, which readers know, so it is no rename to warn about; the warning would
    otherwise ask to pin it to the short-lived id in between."""
    current = list(articles)
    current_ids = {a.id for a in current}
    gone: dict[str, PublishedArticle] = {}
    published_ids: set[str] = set()
    for item in published:
        published_ids.add(item.article_id)
        if item.article_id not in current_ids:
            gone.setdefault(story_key(item.url), item)
    candidates = [(article, gone[story_key(article.original_url)])
                  for article in sorted(current, key=lambda a: a.source)
                  if article.id not in published_ids and article.original_url
                  and story_key(article.original_url) in gone]
    returning = set(once_published(a.id for a, _ in candidates)) \
        if once_published is not None and candidates else set()
    problems = []
    for article, old in candidates:
        if article.id in returning:
            continue
        problems.append(Problem(article.source, 1, Severity.WARNING, (
            f"{_RENAMED}{old.source} renamed (same URL {article.original_url}): its id "
            f"{old.article_id!r} is published and no file has it any more, so this file would "
            f"reach every subscriber again as a new item {article.id!r}. To keep the published "
            f"identity, add `id: {old.article_id}` to the front matter")))
    return problems
