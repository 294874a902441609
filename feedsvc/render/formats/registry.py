"""The registry of feed formats and the protocol each one follows (see the package's
docstring). The package registers its format modules' `FORMAT`s here, in order;
the format modules import nothing of the package, so there is no cycle."""


from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Protocol

from feedsvc.models import Article, Topic
from feedsvc.render.common import FeedOptions, Page
from feedsvc.render.entries import entry_html
from feedsvc.urls import MEDIA_TYPES


class FeedFormat(Protocol):
    """One syndication format."""

    name: str             # also the file extension: feeds/<topic>.<name>
    media_type: str       # served as, with charset=utf-8
    label: str            # "RSS 2.0": for people choosing a feed
    short_label: str      # "RSS"
    openapi_schema: ClassVar[dict[str, Any]]  # the response body's schema in /openapi.json

    def entry(self, article: Article, content: str, topics: dict[str, Topic],
              options: FeedOptions) -> bytes:
        """One article's entry fragment, the same in every document that holds it.
        `content` is its content HTML (`entries.entry_html`), computed once for
        every format."""
        ...

    def document(self, topic: Topic, page: Page, options: FeedOptions, entries: list[bytes],
                 updated: datetime) -> bytes:
        """A whole document: subscription page or archive page, entries newest first;
        `updated` is its newest entry's date (see `common.newest_update`)."""
        ...


_REGISTRY: dict[str, FeedFormat] = {}


def register(feed_format: FeedFormat) -> FeedFormat:
    """Add a format (in registration order, which is the order pages list them)."""
    if feed_format.name in _REGISTRY or feed_format.name in MEDIA_TYPES:
        raise ValueError(f"a format or document type named {feed_format.name!r} exists already")
    _REGISTRY[feed_format.name] = feed_format
    return feed_format


def feed_format(name: str) -> FeedFormat:
    return _REGISTRY[name]


def feed_formats() -> Iterator[FeedFormat]:
    return iter(tuple(_REGISTRY.values()))


def format_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def media_type_for(path: str) -> str:
    """A stored document's media type, from its path: feeds by their format, the rest
    (pages, OPML, images, the API) from `urls.MEDIA_TYPES`."""
    if path.startswith("api/"):
        return "application/json"
    extension = path.rsplit(".", 1)[-1]
    found = _REGISTRY.get(extension)
    return found.media_type if found is not None else MEDIA_TYPES[extension]


def render_entries(articles: list[Article], topics: dict[str, Topic],
                   options: FeedOptions) -> list[dict[str, bytes]]:
    """Every format's entry for each article, in the same order: {format name: bytes}."""
    formats = tuple(_REGISTRY.values())
    entries = []
    for article in articles:
        content = entry_html(article)  # the same HTML in every format: build it once
        entries.append({f.name: f.entry(article, content, topics, options) for f in formats})
    return entries
