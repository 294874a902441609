"""What every format shares: options, item links, date formats, paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from feedsvc import __version__
from feedsvc.codeversion import code_version
from feedsvc.models import Article
from feedsvc.urls import Urls

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = ("feedsvc", __version__, "https://pypi.org/project/feedsvc/")


@dataclass(frozen=True)
class FeedOptions:
    """Settings that change rendered bytes (so they are part of every cache key)."""

    base_url: str
    site_title: str
    site_description: str
    language: str
    feed_size: int
    websub_hub: str = ""

    @property
    def urls(self) -> Urls:
        return Urls(self.base_url)

    @property
    def key(self) -> str:
        return repr((RENDER_VERSION, self.base_url, self.site_title, self.site_description,
                     self.language, self.feed_size, self.websub_hub))


# Everything a rendered document depends on besides its inputs: the renderers, the
# templates, the models and URL layout, and the libraries that write the bytes.
RENDER_VERSION = code_version(("render", "templates", "models.py", "urls.py"),
                              ("feedgen", "lxml", "Jinja2", "MarkupSafe", "orjson"))


def item_link(article: Article, urls: Urls) -> str:
    """Where an item points: the original report, or our own page for our articles."""
    if article.link_override:
        return article.link_override
    if article.self_published or not article.original_url:
        return urls.article_page(article.stem)
    return article.original_url


DEAD_LINK_TERM = "link-dead"
DEAD_LINK_LABEL = "Original link is dead"


def newest_update(articles: tuple[Article, ...] | list[Article], when_empty: datetime) -> datetime:
    """A document's date is its newest entry's, never the build time.

    A document with no entries has no such date; `when_empty` is then the time
    it is being (re)rendered, which is when its bytes change: a render key
    covers everything else it shows, so an unchanged empty feed is not
    rendered again and keeps the date it had."""
    return max((a.updated for a in articles), default=when_empty)


@dataclass(frozen=True)
class Page:
    """One document of a feed: the subscription document (number 0) or an archive page.

    Archive pages are numbered from the oldest, so page k holds the same
    entries forever once it is full (RFC 5005: archives are immutable).
    """

    slug: str
    number: int
    articles: tuple[Article, ...]
    archive_count: int

    @property
    def is_archive(self) -> bool:
        return self.number > 0

    @property
    def prev_archive(self) -> int | None:
        if not self.is_archive:
            return self.archive_count or None
        return self.number - 1 or None

    @property
    def next_archive(self) -> int | None:
        if self.is_archive and self.number < self.archive_count:
            return self.number + 1
        return None


def paginate(slug: str, articles: tuple[Article, ...], size: int) -> list[Page]:
    """Newest `size` entries in the subscription document; the rest in archive pages."""
    current = articles[:size]
    older = articles[size:][::-1]  # oldest first
    chunks = [older[i:i + size] for i in range(0, len(older), size)]
    pages = [Page(slug, 0, current, len(chunks))]
    for number, chunk in enumerate(chunks, start=1):
        pages.append(Page(slug, number, tuple(reversed(chunk)), len(chunks)))
    return pages
