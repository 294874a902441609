"""topics.yml and how article topic names map onto it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

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
    when = datetime(2024, 1, int(stem[-1]), tzinfo=UTC)
    return Article(id=f"id-{stem}", stem=stem, source=f"{stem}.md", title=title, summary=summary,
                   content_html="", published=when, updated=when, original_url=None,
                   self_published=True, topic_names=tuple(names))


ARTICLES = [
    article("a1", ["Ethics of AI", "ai ethics"]),
    article("a2", [], title="Regulator fines app over personal data"),
    article("a3", ["Robot Law"]),
    article("a4", ["robot law"]),
    # Upstream articles always name broad topics; keywords still file them.
    article("a5", ["AI", "Machine Learning"], title="A privacy complaint against a chatbot"),
]


def test_undeclared_topics_are_reported_not_published_by_default():
    taxonomy, problems = parse_taxonomy(TAXONOMY)
    assert problems == []
    catalog, warnings = build_catalog(ARTICLES, taxonomy)
    assert list(catalog.topics) == ["ai-ethics", "privacy"]
    assert catalog.by_topic["ai-ethics"][0].stem == "a1"
    assert [a.stem for a in catalog.by_topic["privacy"]] == ["a5", "a2"]
    hint = ("no feed is made for it (add it, or an alias of a topic, to topics.yml; "
            "or set FEEDSVC_UNDECLARED_TOPICS=feed)")
    assert [(w.path, w.reason) for w in warnings] == [
        ("a5.md", f"topic 'AI' (named here) is not in topics.yml; {hint}"),
        ("a5.md", f"topic 'Machine Learning' (named here) is not in topics.yml; {hint}"),
        ("a3.md", f"topic 'Robot Law' (named here and 1 other article(s)) is not in topics.yml; {hint}"),
    ]
    assert [a.stem for a in catalog.articles] == ["a5", "a4", "a3", "a2", "a1"]


def test_undeclared_topics_become_feeds_when_the_setting_says_so():
    taxonomy, _ = parse_taxonomy(TAXONOMY)
    catalog, warnings = build_catalog(ARTICLES, taxonomy, undeclared="feed")
    assert [a.stem for a in catalog.by_topic["robot-law"]] == ["a4", "a3"]
    assert not catalog.topics["robot-law"].declared
    assert "published as its own feed 'robot-law'" in warnings[-1].reason


def test_where_each_topic_came_from():
    taxonomy, _ = parse_taxonomy(TAXONOMY)
    catalog, _ = build_catalog(ARTICLES, taxonomy, undeclared="feed")
    assert catalog.origins["id-a1"] == {"ai-ethics": "alias"}  # "Ethics of AI" first
    assert catalog.origins["id-a2"] == {"privacy": "keyword"}
    assert catalog.origins["id-a5"] == {"privacy": "keyword", "ai": "undeclared",
                                        "machine-learning": "undeclared"}
    named = build_catalog([article("a6", ["AI ethics"])], taxonomy)[0]
    assert named.origins["id-a6"] == {"ai-ethics": "named"}


def test_keywords_are_matched_in_the_body_too():
    taxonomy, _ = parse_taxonomy(TAXONOMY)
    body = article("a7", ["AI"], title="Untitled")
    body = replace(body, content_html="<p>The <em>ethics</em> of it.</p>")
    catalog, _ = build_catalog([body], taxonomy)
    assert catalog.origins["id-a7"] == {"ai-ethics": "keyword"}


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
