"""What one file may cost a build, and the checks that keep every file within it.

A build publishes everything that is good, so a single hostile file must not
be able to make it slow, huge or wrong for the others: one article naming
2,000 topics once produced 8,008 documents and a 671 MB store, and two topic
names that slugify alike silently shared one feed. These checks run after
parsing (they depend on the taxonomy and on the other articles, so they are
not cached) and, like every content error, leave the offending article out
of the build and report it with its path; everything else still publishes.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from feedsvc.content.files import MAX_SLUG_LENGTH
from feedsvc.content.problems import ContentError
from feedsvc.content.topics import Taxonomy, slugify
from feedsvc.models import Article


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-file and per-build cost limits (FEEDSVC_MAX_TOPICS_PER_ARTICLE and friends)."""

    max_topics_per_article: int = 20
    max_topic_feeds: int = 1000
    max_body_size: int = 131_072
    markdown_budget_s: float = 1.0

    @property
    def parse_key(self) -> str:
        """The part that changes parse results, so belongs in the parse-cache key."""
        return f"body<={self.max_body_size}|md<={self.markdown_budget_s}"


@functools.lru_cache(maxsize=65_536)
def topic_identity(name: str) -> str:
    """A topic name with case, accents, spacing and punctuation removed, but every
    letter kept (unlike its slug, which drops what is not ASCII): two names with
    the same slug but different identities would be merged into one feed by mistake."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed.casefold()
                   if ch.isalnum() and not unicodedata.combining(ch))


def vet_articles(articles: Iterable[Article], taxonomy: Taxonomy,
                 limits: Limits) -> tuple[list[Article], list[ContentError]]:
    """Keep the articles whose topics a build can publish; report the others.

    In path order, so the result is deterministic: the first article to name a
    topic that is not in topics.yml owns that feed's name, and the feeds are
    counted against FEEDSVC_MAX_TOPIC_FEEDS in the order they first appear.
    """
    kept: list[Article] = []
    problems: list[ContentError] = []
    owners: dict[str, tuple[str, str, str]] = {}  # undeclared slug -> (identity, name, source)
    declared = {slug: {topic_identity(n) for n in (slug, topic.title, *topic.aliases)}
                for slug, topic in taxonomy.topics.items()}
    feeds = len(taxonomy.topics)
    for article in articles:
        names = article.topic_names
        if len(names) > limits.max_topics_per_article:
            problems.append(ContentError(
                f"names {len(names)} topics, more than {limits.max_topics_per_article} "
                "(FEEDSVC_MAX_TOPICS_PER_ARTICLE); left out: keep the main ones",
                path=article.source, line=1))
            continue
        new: dict[str, tuple[str, str, str]] = {}
        reason = None
        for name in names:
            found = taxonomy.lookup(name)
            if found is not None:
                if topic_identity(name) not in declared[found]:
                    reason = (f"topic {name!r} would be merged into the different topic "
                              f"{taxonomy.topics[found].title!r} ({found!r}) of topics.yml, whose "
                              "feed name it shares; left out: give it an entry or an alias there")
                    break
                continue
            slug = slugify(name)
            if len(slug) > MAX_SLUG_LENGTH:
                reason = (f"topic {name[:100]!r} would make a feed URL of {len(slug)} characters, "
                          f"over {MAX_SLUG_LENGTH}; left out: shorten it or add it to topics.yml")
                break
            owner = owners.get(slug) or new.get(slug)
            identity = topic_identity(name)
            if owner is None:
                new[slug] = (identity, name, article.source)
            elif owner[0] != identity:
                reason = (f"topic {name!r} would share the feed {slug!r} with the different topic "
                          f"{owner[1]!r} (named in {owner[2]}); left out: give one of them an "
                          "entry or an alias in topics.yml")
                break
        if reason is None and new and feeds + len(new) > limits.max_topic_feeds:
            reason = (f"its topics would make more than {limits.max_topic_feeds} topic feeds "
                      "(FEEDSVC_MAX_TOPIC_FEEDS); left out: add its topics to topics.yml as "
                      "aliases of existing ones, or raise the limit")
        if reason is not None:
            problems.append(ContentError(reason, path=article.source, line=1))
            continue
        feeds += len(new)
        owners.update(new)
        kept.append(article)
    return kept, problems
