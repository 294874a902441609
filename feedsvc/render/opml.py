"""OPML 2.0 subscription lists: every topic feed, one topic's, or a chosen set.

Importable into any reader. The whole list and each topic's are published
with the feeds; a chosen set (`/feeds.opml?topics=a,b`) is made by the web
process from the published topic list, so it always matches the feeds served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from lxml import etree

from feedsvc.models import Topic
from feedsvc.render.common import FeedOptions


def render_opml(topics: list[tuple[Topic, int]], options: FeedOptions, updated: datetime,
                title: str | None = None) -> bytes:
    """One outline per feed (RSS, the format every reader takes), in the order given."""
    urls = options.urls
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title or f"{options.site_title}: all feeds"
    etree.SubElement(head, "dateModified").text = format_datetime(updated, usegmt=True)
    etree.SubElement(head, "ownerName").text = options.site_title
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for topic, count in topics:
        title = options.site_title if topic.slug == "all" else topic.title
        etree.SubElement(body, "outline", {
            "type": "rss", "text": title, "title": title,
            "description": topic.description or title,
            "xmlUrl": urls.feed(topic.slug, "rss"), "htmlUrl": urls.topic_page(topic.slug),
            "language": options.language, "category": f"/{topic.slug}",
            "count": str(count),
        })
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def topics_from_api(data: Mapping[str, Any]) -> list[tuple[Topic, int]]:
    """The (topic, article count) pairs of a published `api/topics.json`, in its order."""
    return [(Topic(row["slug"], row["title"], row.get("description") or ""), int(row["articles"]))
            for row in data.get("topics", []) if isinstance(row, dict) and "slug" in row]


def chosen_topics(available: list[tuple[Topic, int]], wanted: Iterable[str]) -> list[tuple[Topic, int]]:
    """The wanted topics that exist, in the published order, each once."""
    names = set(wanted)
    return [(topic, count) for topic, count in available if topic.slug in names]
