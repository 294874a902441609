"""The JSON API for services: the topic list.

A topic's articles are served from its JSON Feed pages (`/api/topics/<slug>/
articles?page=k` is `feeds/<slug>.json` or its archive page k): the same items,
paged by `next_url` along the archive partition, so adding an article changes
two pages, not all, and a client walking the pages never sees an item twice.
"""

from __future__ import annotations

from feedsvc.catalog import Catalog
from feedsvc.models import Topic
from feedsvc.render.common import FeedOptions
from feedsvc.render.entries import dump_json
from feedsvc.render.formats import format_names


def api_articles_url(options: FeedOptions, slug: str, page: int = 0) -> str:
    base = options.urls.absolute(f"api/topics/{slug}/articles")
    return f"{base}?page={page}" if page else base


def render_api_topics(catalog: Catalog, options: FeedOptions, all_topic: Topic) -> bytes:
    urls = options.urls
    rows = [(all_topic, len(catalog.articles))]
    rows += [(topic, len(catalog.by_topic[slug])) for slug, topic in catalog.topics.items()]
    return dump_json({"topics": [{
        "slug": topic.slug, "title": topic.title, "description": topic.description,
        "articles": count, "declared": topic.declared, "aliases": list(topic.aliases),
        "html_url": urls.topic_page(topic.slug),
        "articles_url": api_articles_url(options, topic.slug),
        "feeds": {fmt: urls.feed(topic.slug, fmt) for fmt in format_names()},
    } for topic, count in rows]})
