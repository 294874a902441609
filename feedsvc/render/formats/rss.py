"""RSS 2.0: the format most readers were built for.

The channel head is feedgen's; RFC 5005 paging and the WebSub hub are
`atom:link`s in the channel; each `<item>` is written here (see
`feedsvc.render.entries` for what real readers need from it).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any, ClassVar

from feedsvc.models import Article, Topic
from feedsvc.render.common import DEAD_LINK_LABEL, FeedOptions, Page, item_link
from feedsvc.render.documents import feed_head, splice
from feedsvc.render.entries import (
    element,
    empty_element,
    image_media_type,
    media_elements,
)

MEDIA_TYPE = "application/rss+xml"


def rss_item(article: Article, content: str, topics: dict[str, Topic], options: FeedOptions) -> str:
    urls = options.urls
    parts = [element("title", article.title), element("link", item_link(article, urls))]
    if article.summary:
        parts.append(element("description", escape(article.summary, quote=False)))
        if content:
            parts.append(element("content:encoded", content))
    elif content:
        parts.append(element("description", content))
    parts.append(element("guid", article.id, isPermaLink="false"))
    if article.provider is not None:
        parts.append(element("dc:creator", article.provider.name))
    for slug in article.topics:
        parts.append(element("category", topics[slug].title, domain=urls.topic_scheme + slug))
    if article.link_note:
        parts.append(element("category", DEAD_LINK_LABEL, domain=urls.absolute("links")))
    parts.append(element("pubDate", format_datetime(article.published)))
    if article.image is not None:
        # length 0: unknown, as the RSS Best Practices Profile allows.
        parts.append(empty_element("enclosure", {"url": article.image.url, "length": "0",
                                          "type": image_media_type(article.image.url)}))
        parts.append(media_elements(article.image))
    return "<item>" + "".join(parts) + "</item>"


class RssFormat:
    name = "rss"
    media_type = MEDIA_TYPE
    label = "RSS 2.0"
    short_label = "RSS"
    openapi_schema: ClassVar[dict[str, Any]] = {"type": "string"}

    def entry(self, article: Article, content: str, topics: dict[str, Topic],
              options: FeedOptions) -> bytes:
        return rss_item(article, content, topics, options).encode("utf-8")

    def document(self, topic: Topic, page: Page, options: FeedOptions, entries: list[bytes],
                 updated: datetime) -> bytes:
        fg = feed_head(topic, page, options, self.name, MEDIA_TYPE, updated, paging_links=False)
        return splice(fg.rss_str(pretty=False), b"</channel>", entries, options)


FORMAT = RssFormat()
