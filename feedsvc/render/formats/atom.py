"""Atom 1.0 (RFC 4287): the format with real identity, dates and link relations.

The feed head is feedgen's (with the hub and RFC 5005 paging as its own
links); each `<entry>` is written here, with exactly one `rel="alternate"`
link, first (see `feedsvc.render.entries`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from feedsvc.models import Article, Topic
from feedsvc.render.common import DEAD_LINK_LABEL, DEAD_LINK_TERM, FeedOptions, Page, item_link
from feedsvc.render.documents import feed_head, splice
from feedsvc.render.entries import (
    element,
    empty_element,
    image_media_type,
    media_elements,
)

MEDIA_TYPE = "application/atom+xml"


def atom_entry(article: Article, content: str, topics: dict[str, Topic], options: FeedOptions) -> str:
    urls = options.urls
    parts = [element("id", article.id), element("title", article.title, type="text"),
             element("updated", article.updated.isoformat()),
             element("published", article.published.isoformat()),
             empty_element("link", {"rel": "alternate", "type": "text/html",
                             "href": item_link(article, urls)})]
    for related in article.related:
        parts.append(empty_element("link", {"rel": "related", "type": "text/html", "href": related.url,
                                     "title": related.title}))
    if article.image is not None:
        parts.append(empty_element("link", {"rel": "enclosure", "href": article.image.url,
                                     "type": image_media_type(article.image.url)}))
    if article.provider is not None:
        uri = element("uri", article.provider.url) if article.provider.url else ""
        parts.append(f"<author>{element('name', article.provider.name)}{uri}</author>")
    if article.summary:
        parts.append(element("summary", article.summary, type="text"))
    if content:
        parts.append(element("content", content, type="html"))
    for slug in article.topics:
        parts.append(empty_element("category", {"term": slug, "scheme": urls.topic_scheme,
                                         "label": topics[slug].title}))
    if article.link_note:
        parts.append(empty_element("category", {"term": DEAD_LINK_TERM, "scheme": urls.absolute("links"),
                                         "label": DEAD_LINK_LABEL}))
    if article.image is not None:
        parts.append(media_elements(article.image))
    return "<entry>" + "".join(parts) + "</entry>"


class AtomFormat:
    name = "atom"
    media_type = MEDIA_TYPE
    label = "Atom 1.0"
    short_label = "Atom"
    openapi_schema: ClassVar[dict[str, Any]] = {"type": "string"}

    def entry(self, article: Article, content: str, topics: dict[str, Topic],
              options: FeedOptions) -> bytes:
        return atom_entry(article, content, topics, options).encode("utf-8")

    def document(self, topic: Topic, page: Page, options: FeedOptions, entries: list[bytes],
                 updated: datetime) -> bytes:
        fg = feed_head(topic, page, options, self.name, MEDIA_TYPE, updated, paging_links=True)
        return splice(fg.atom_str(pretty=False), b"</feed>", entries, options)


FORMAT = AtomFormat()
