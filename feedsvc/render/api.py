"""The JSON API for services: the topic list, and each topic's articles in pages.

Article pages use the same partition as the feed archives (page 0 is the
newest entries, pages 1..n are fixed from the oldest), so adding an article
changes two documents, not every page, and a client that walks `next` links
never sees an item twice.
"""

from __future__ import annotations

from feedsvc.catalog import Catalog
from feedsvc.models import Topic
from feedsvc.render.common import FeedOptions, Page
from feedsvc.render.entries import dump_json, json_with_items
from feedsvc.urls import FEED_FORMATS


def api_articles_url(options: FeedOptions, slug: str, page: int = 0) -> str:
    base = options.urls.absolute(f"api/topics/{slug}/articles")
    return f"{base}?page={page}" if page else base


def render_api_topics(catalog: Catalog, options: FeedOptions, all_topic: Topic) -> bytes:
    urls = options.urls
    rows = [(all_topic, len(catalog.articles))]
    rows += [(topic, len(catalog.by_topic[slug])) for slug, topic in catalog.topics.items()]
    return dump_json({"topics": [{
        "slug": topic.slug, "title": topic.title, "description": topic.description,
        "articles": count, "declared": topic.declared,
        "html_url": urls.topic_page(topic.slug),
        "articles_url": api_articles_url(options, topic.slug),
        "feeds": {fmt: urls.feed(topic.slug, fmt) for fmt in FEED_FORMATS},
    } for topic, count in rows]})


def render_api_page(topic: Topic, page: Page, options: FeedOptions, items: list[bytes]) -> bytes:
    head: dict = {"topic": topic.slug, "title": topic.title,
                  "page": page.number, "archive": page.is_archive}
    if page.prev_archive:
        head["next"] = api_articles_url(options, topic.slug, page.prev_archive)
    if page.is_archive:
        head["previous"] = api_articles_url(options, topic.slug, page.next_archive or 0)
    return json_with_items(head, items)
