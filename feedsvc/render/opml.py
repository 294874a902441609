"""OPML 2.0 subscription list: every topic feed, importable into any reader."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from feedsvc.models import Topic
from feedsvc.render.common import FeedOptions


def render_opml(topics: list[tuple[Topic, int]], options: FeedOptions, updated: datetime) -> bytes:
    """One outline per feed (RSS, the format every reader takes), all articles first."""
    urls = options.urls
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{options.site_title}: all feeds"
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
