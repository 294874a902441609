"""Articles grouped by topic, newest first: what every renderer reads.

Pure: the same articles and taxonomy always give the same catalog, in the same
order, which is what makes builds byte-for-byte deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from feedsvc.content.topics import Taxonomy, slugify
from feedsvc.models import Article, Problem, Severity, Topic, evolve, shared

ALL = "all"


def newest_first(article: Article) -> tuple[float, str]:
    """Sort key: newest publication first, ties broken by id so order never wobbles."""
    return (-article.published.timestamp(), article.id)


@dataclass(frozen=True)
class Catalog:
    articles: tuple[Article, ...]
    topics: dict[str, Topic]
    by_topic: dict[str, tuple[Article, ...]]
    origins: dict[str, dict[str, TopicOrigin]] = field(default_factory=dict)

    def article(self, stem: str) -> Article | None:
        return next((a for a in self.articles if a.stem == stem), None)


class TopicOrigin(StrEnum):
    """How an article came to be in a topic (shown by `feedsvc check --format json`)."""

    NAMED = "named"        # the article names the topic by its slug or title
    ALIAS = "alias"        # the article names one of the topic's aliases
    KEYWORD = "keyword"    # a keyword of the topic occurs in its title, summary or text
    UNDECLARED = "undeclared"  # named, not in topics.yml, published as its own feed


@dataclass(frozen=True)
class TopicResolution:
    """Every article with its topic slugs, the topics that exist, and why each article
    is where it is."""

    articles: list[Article]
    topics: dict[str, Topic]
    origins: dict[str, dict[str, TopicOrigin]]  # article id -> slug -> origin
    problems: list[Problem]


def _keyword_text(article: Article) -> str:
    return f"{article.title}\n{article.summary}\n{_TAGS.sub(' ', article.content_html)}"


_TAGS = re.compile(r"<[^>]*>")


def resolve_topics(articles: Iterable[Article], taxonomy: Taxonomy, *,
                   undeclared: str = "report") -> TopicResolution:
    """Give every article its topic slugs.

    An article is in every topic it names (by slug, title or alias) and in every
    topic whose keywords occur in its title, summary or text: upstream articles
    always name broad topics ("AI", "Machine Learning"), so keywords are what put
    them in the curated ones. A name `topics.yml` lacks becomes its own feed only
    when `undeclared` is "feed" (or there is no taxonomy at all); otherwise it is
    reported once, with how many articles use it.
    """
    topics = dict(taxonomy.topics)
    # Each topic's place in the taxonomy (invented ones after it): an article's slugs are
    # put in this order by sorting its few, not by walking every topic for each article.
    position = {slug: number for number, slug in enumerate(topics)}
    invent = undeclared == "feed" or not taxonomy.topics
    unknown: dict[str, list[Article]] = {}
    origins: dict[str, dict[str, TopicOrigin]] = {}
    resolved: list[Article] = []
    for article in articles:
        found: dict[str, TopicOrigin] = {}
        for name in article.topic_names:
            slug = taxonomy.lookup(name)
            if slug is not None:
                topic = topics[slug]
                named = _key_of(name) in (_key_of(topic.slug), _key_of(topic.title))
                found.setdefault(slug, TopicOrigin.NAMED if named else TopicOrigin.ALIAS)
                continue
            unknown.setdefault(slugify(name), []).append(article)
            if invent:
                slug = slugify(name)
                if slug not in topics:
                    topics[slug] = Topic(slug, name, declared=False)
                    position[slug] = len(position)
                found.setdefault(slug, TopicOrigin.UNDECLARED)
        for slug in taxonomy.by_keywords(_keyword_text(article)):
            found.setdefault(slug, TopicOrigin.KEYWORD)
        # taxonomy order; one tuple for all the articles in the same topics
        slugs = shared(tuple(sorted(found, key=position.__getitem__)))
        origins[article.id] = {slug: found[slug] for slug in slugs}
        resolved.append(evolve(article, topics=slugs) if slugs != article.topics else article)
    return TopicResolution(resolved, topics, origins,
                           _unknown_topic_problems(unknown, invent, taxonomy))


def _key_of(name: str) -> str:
    return slugify(name)


def _unknown_topic_problems(unknown: dict[str, list[Article]], invented: bool,
                            taxonomy: Taxonomy | None = None) -> list[Problem]:
    """One warning per unknown topic (names that slug alike are one topic), on the
    first file (in path order) that names it."""
    problems = []
    for slug, users in sorted(unknown.items()):
        first = min(users, key=lambda a: a.source)
        name = next(n for n in first.topic_names if slugify(n) == slug)
        others = f" and {len(users) - 1} other article(s)" if len(users) > 1 else ""
        if invented:
            outcome = f"published as its own feed {slug!r}"
        else:
            outcome = ("no feed is made for it (add it, or an alias of a topic, to topics.yml; "
                       "or set FEEDSVC_UNDECLARED_TOPICS=feed)")
        guess = taxonomy.suggest(name) if taxonomy is not None else None
        hint = f" (did you mean {guess!r}?)" if guess else ""
        problems.append(Problem(first.source, first.topics_line, Severity.WARNING,
                                f"topic {name!r} (named here{others}) is not in topics.yml{hint}; "
                                f"{outcome}"))
    return problems


def build_catalog(articles: Iterable[Article], taxonomy: Taxonomy, *,
                  undeclared: str = "report") -> tuple[Catalog, list[Problem]]:
    resolution = resolve_topics(articles, taxonomy, undeclared=undeclared)
    resolved, topics, problems = resolution.articles, resolution.topics, resolution.problems
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
        origins=resolution.origins,
    ), problems
