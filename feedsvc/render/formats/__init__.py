"""The feed formats, behind one protocol, in one registry.

Each format is a module here (`rss`, `atom`, `jsonfeed`) holding everything
about it: name and file extension, media type, labels for people, how it
writes one article's entry and how it assembles a document around entries.
Routes, the OpenAPI description, pages, the topic list, WebSub and the build
read this registry, so adding a format (RSS 1.0, an ActivityStreams outbox)
is one new module holding its `FORMAT`, listed below, plus its tests. The model is
lemon24/reader's parser registry and datasette's renderers by extension.
"""

from __future__ import annotations

from feedsvc.render.formats import atom, jsonfeed, rss
from feedsvc.render.formats.registry import (
    FeedFormat,
    feed_format,
    feed_formats,
    format_names,
    media_type_for,
    register,
    render_entries,
)

# The formats, in the order pages and OpenAPI list them (the order is the point).
for _module in (rss, atom, jsonfeed):
    register(_module.FORMAT)

__all__ = ["FeedFormat", "feed_format", "feed_formats", "format_names", "media_type_for",
           "register", "render_entries"]
