"""One-click subscribe links for the common feed readers.

Each reader takes the feed address in its own URL form (from their subscribe
button documentation); `feed:` hands the address to whatever feed reader the
operating system has registered for that scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ReaderLink:
    name: str
    url: str


def _encoded(url: str) -> str:
    return quote(url, safe="")


def reader_links(feed_url: str) -> list[ReaderLink]:
    """Subscribe links for `feed_url` (an absolute http(s) URL), best-known readers first."""
    return [
        ReaderLink("Feedly", "https://feedly.com/i/subscription/" + _encoded(f"feed/{feed_url}")),
        ReaderLink("Inoreader", "https://www.inoreader.com/?add_feed=" + _encoded(feed_url)),
        ReaderLink("NewsBlur", "https://www.newsblur.com/?url=" + _encoded(feed_url)),
        ReaderLink("The Old Reader", "https://theoldreader.com/feeds/subscribe?url=" + _encoded(feed_url)),
        ReaderLink("your feed app (feed: link)", f"feed:{feed_url}"),
    ]
