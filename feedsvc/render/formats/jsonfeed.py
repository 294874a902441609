"""JSON Feed 1.1: feeds for code, and for readers that prefer JSON.

feedgen has no JSON Feed, and the format is small: written here whole. RFC 5005
paging maps onto `next_url` (towards older pages); archive pages say so in the
`_feedsvc` extension.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from feedsvc.models import Article, Topic
from feedsvc.render.common import DEAD_LINK_LABEL, FeedOptions, Page, item_link
from feedsvc.render.documents import feed_description, feed_title, page_url
from feedsvc.render.entries import dump_json
from feedsvc.urls import FAVICON_PATH, ICON_PATH

MEDIA_TYPE = "application/feed+json"


def json_item(article: Article, content: str, topics: dict[str, Topic],
              options: FeedOptions) -> dict[str, Any]:
    urls = options.urls
    item: dict[str, Any] = {"id": article.id, "url": item_link(article, urls), "title": article.title}
    if content:
        item["content_html"] = content
    else:
        item["content_text"] = article.summary or article.title
    if article.summary:
        item["summary"] = article.summary
    if article.image is not None:
        item["image"] = article.image.url
    item["date_published"] = article.published.isoformat()
    item["date_modified"] = article.updated.isoformat()
    if article.provider is not None:
        author = {"name": article.provider.name}
        if article.provider.url:
            author["url"] = article.provider.url
        item["authors"] = [author]
    tags = [topics[slug].title for slug in article.topics]
    if article.link_note:
        tags.append(DEAD_LINK_LABEL)
    if tags:
        item["tags"] = tags
    extension: dict[str, Any] = {}
    if article.related:
        extension["related"] = [{"title": r.title, "url": r.url} for r in article.related]
    if article.event is not None:
        extension["event"] = {"start": article.event.start.isoformat(),
                              "end": article.event.end.isoformat() if article.event.end else None,
                              "location": article.event.location}
    if article.link_status:
        extension["link_status"] = article.link_status
        extension["original_url"] = article.original_url
    if extension:
        item["_feedsvc"] = extension
    return item


def json_with_items(head: dict[str, Any], items: list[bytes]) -> bytes:
    """`head` as JSON with a last member "items": an array of pre-encoded objects."""
    encoded = dump_json({**head, "items": []})
    return b"".join((encoded[:-2], b",".join(items), b"]}"))


def json_document(topic: Topic, page: Page, options: FeedOptions, entries: list[bytes]) -> bytes:
    urls = options.urls
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed_title(topic, page, options),
        "home_page_url": urls.topic_page(page.slug),
        "feed_url": page_url(options, page, "json"),
        "description": feed_description(topic, options),
        "language": options.language,
        "authors": [{"name": options.site_title, "url": urls.absolute("/")}],
        "icon": urls.absolute(ICON_PATH),
        "favicon": urls.absolute(FAVICON_PATH),
    }
    if options.websub_hub and not page.is_archive:
        feed["hubs"] = [{"type": "WebSub", "url": options.websub_hub}]
    if page.prev_archive:
        feed["next_url"] = urls.archive(page.slug, page.prev_archive, "json")
    if page.is_archive:
        feed["_feedsvc"] = {"archive": True, "current": urls.feed(page.slug, "json")}
    return json_with_items(feed, entries)


class JsonFeedFormat:
    name = "json"
    media_type = MEDIA_TYPE
    label = "JSON Feed 1.1"
    short_label = "JSON"
    openapi_schema: ClassVar[dict[str, Any]] = {"$ref": "#/components/schemas/JsonFeed"}

    def entry(self, article: Article, content: str, topics: dict[str, Topic],
              options: FeedOptions) -> bytes:
        return dump_json(json_item(article, content, topics, options))

    def document(self, topic: Topic, page: Page, options: FeedOptions, entries: list[bytes],
                 updated: datetime) -> bytes:
        return json_document(topic, page, options, entries)


FORMAT = JsonFeedFormat()
