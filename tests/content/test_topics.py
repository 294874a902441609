"""topics.yml and how article topic names map onto it."""

from __future__ import annotations

from datetime import datetime, timezone

from feedsvc.catalog import build_catalog
from feedsvc.content import parse_taxonomy, slugify
from feedsvc.models import Article

TAXONOMY = """topics:
  - slug: ai-ethics
    title: AI ethics
    aliases: [Ethics of AI]
    keywords: [ethics]
  - slug: privacy
    title: Privacy
    keywords: [privacy, personal data]
"""


def article(stem: str, names=(), title="t", summary="") -> Article:
    when = datetime(2024, 1, int(stem[-1]), tzinfo=timezone.utc)
    return Article(id=f"id-{stem}", stem=stem, source=f"{stem}.md", title=title, summary=summary,
                   content_html="", published=when, updated=when, original_url=None,
                   self_published=True, topic_names=tuple(names))


def test_aliases_keywords_and_unknown_topics():
    taxonomy, problems = parse_taxonomy(TAXONOMY)
    assert problems == []
    catalog, warnings = build_catalog([
        article("a1", ["Ethics of AI", "ai ethics"]),
        article("a2", [], title="Regulator fines app over personal data"),
        article("a3", ["Robot Law"]),
        article("a4", ["robot law"]),
    ], taxonomy)
    assert catalog.by_topic["ai-ethics"][0].stem == "a1"
    assert [a.stem for a in catalog.by_topic["privacy"]] == ["a2"]
    assert [a.stem for a in catalog.by_topic["robot-law"]] == ["a4", "a3"]
    assert not catalog.topics["robot-law"].declared
    assert [w.reason for w in warnings] == [
        "topic 'Robot Law' is not in topics.yml; published as its own feed 'robot-law' "
        "(add it, or an alias, to topics.yml)"]
    assert [a.stem for a in catalog.articles] == ["a4", "a3", "a2", "a1"]


def test_bad_taxonomy_entries_are_reported_and_skipped():
    taxonomy, problems = parse_taxonomy("""topics:
  - slug: Bad Slug
    title: X
  - slug: all
    title: Everything
  - slug: privacy
    title: Privacy
  - slug: privacy-2
    title: privacy
""")
    assert list(taxonomy.topics) == ["privacy"]
    assert [(p.line, p.reason) for p in problems] == [
        (2, "topic #1: `slug` must be lower-case words joined by hyphens, got 'Bad Slug'"),
        (4, "topic #2: the slug 'all' is reserved"),
        (8, "topic 'privacy-2' repeats a slug, title or alias of topic 'privacy'"),
    ]


def test_slugify():
    assert slugify("Ethics of AI") == "ethics-of-ai"
    assert slugify("Économie & IA") == "economie-ia"
    assert slugify("All") == "all-topic"
