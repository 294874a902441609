"""Articles grouped by topic, newest first: what every renderer reads.

Pure: the same articles and taxonomy always give the same catalog, in the same
order, which is what makes builds byte-for-byte deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from feedsvc.content.topics import Taxonomy, slugify
from feedsvc.models import Article, Problem, Topic

ALL = "all"


def newest_first(article: Article) -> tuple[float, str]:
    """Sort key: newest publication first, ties broken by id so order never wobbles."""
    return (-article.published.timestamp(), article.id)


@dataclass(frozen=True)
class Catalog:
    articles: tuple[Article, ...]
    topics: dict[str, Topic]
    by_topic: dict[str, tuple[Article, ...]]

    def topic_articles(self, slug: str) -> tuple[Article, ...]:
        return self.articles if slug == ALL else self.by_topic.get(slug, ())

    def article(self, stem: str) -> Article | None:
        return next((a for a in self.articles if a.stem == stem), None)


def resolve_topics(articles: Iterable[Article], taxonomy: Taxonomy) -> tuple[list[Article], dict[str, Topic], list[Problem]]:
    """Give every article its topic slugs; invent (and warn about) undeclared topics."""
    topics = dict(taxonomy.topics)
    problems: list[Problem] = []
    warned: set[str] = set()
    resolved: list[Article] = []
    for article in articles:
        slugs: list[str] = []
        for name in article.topic_names:
            slug = taxonomy.lookup(name)
            if slug is None:
                slug = slugify(name)
                if slug not in topics:
                    topics[slug] = Topic(slug, name, declared=False)
                if slug not in warned and not topics[slug].declared:
                    warned.add(slug)
                    problems.append(Problem(
                        article.source, None, "warning",
                        f"topic {name!r} is not in topics.yml; published as its own feed "
                        f"{slug!r} (add it, or an alias, to topics.yml)"))
            if slug not in slugs:
                slugs.append(slug)
        if not slugs:
            slugs = list(taxonomy.by_keywords(f"{article.title}\n{article.summary}"))
        resolved.append(replace(article, topics=tuple(slugs)) if tuple(slugs) != article.topics else article)
    return resolved, topics, problems


def build_catalog(articles: Iterable[Article], taxonomy: Taxonomy) -> tuple[Catalog, list[Problem]]:
    resolved, topics, problems = resolve_topics(articles, taxonomy)
    ordered = tuple(sorted(resolved, key=newest_first))
    grouped: dict[str, list[Article]] = {slug: [] for slug in topics}
    for article in ordered:
        for slug in article.topics:
            grouped[slug].append(article)
    topic_order = sorted(topics, key=lambda s: (not topics[s].declared, topics[s].title.lower(), s))
    return Catalog(
        articles=ordered,
        topics={slug: topics[slug] for slug in topic_order},
        by_topic={slug: tuple(grouped[slug]) for slug in topic_order},
    ), problems
