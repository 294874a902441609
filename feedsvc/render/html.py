"""HTML pages: the index, one page per topic, one per self-published article.

Rendered at build time like the feeds, so the web process serves them with the
same validators and caching, and `feedsvc export` can host them statically.
Jinja autoescaping covers every title and summary; article bodies are already
sanitised HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import TypedDict

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feedsvc.catalog import ALL, Catalog
from feedsvc.models import Article, Topic
from feedsvc.render.common import FeedOptions, item_link
from feedsvc.render.entries import dump_json
from feedsvc.render.formats import feed_format, feed_formats
from feedsvc.render.readers import ReaderLink, reader_links
from feedsvc.render.timefmt import human_date, human_datetime, relative
from feedsvc.urls import SEARCH_INDEX_PATH

TOPIC_PAGE_SIZE = 50  # articles per HTML page of a topic; older ones on pages 2, 3, ...
INDEX_LATEST = 20
SEARCH_FIELDS = ("title", "url", "published", "outlet", "topics")

_loader = PackageLoader("feedsvc", "templates")
environment = Environment(
    loader=_loader,
    autoescape=select_autoescape(["html"]),
    trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True,
    # Templates are package files fixed for the life of the process, as RENDER_VERSION
    # (their digest) is: no stat of the source on every render.
    auto_reload=False,
)
environment.filters.update(human_date=human_date, human_datetime=human_datetime)
environment.globals.update(relative=relative)


@dataclass(frozen=True)
class FeedLink:
    format: str
    url: str
    title: str

    @property
    def media_type(self) -> str:
        return feed_format(self.format).media_type

    @property
    def label(self) -> str:
        return f"{feed_format(self.format).label} feed"

    @property
    def short(self) -> str:
        return feed_format(self.format).short_label


def feed_links(slug: str, title: str, options: FeedOptions) -> list[FeedLink]:
    urls = options.urls
    return [FeedLink(f.name, urls.feed(slug, f.name), f"{title} ({f.short_label})")
            for f in feed_formats()]


@dataclass(frozen=True)
class Subscribe:
    """Everything a subscribe block offers for one feed: addresses to copy, one-click
    reader links (for the RSS feed, the format every reader takes) and an OPML file."""

    slug: str
    title: str
    feeds: list[FeedLink]
    readers: list[ReaderLink] = field(default_factory=list)
    opml: str = ""


def subscribe_for(slug: str, title: str, options: FeedOptions) -> Subscribe:
    feeds = feed_links(slug, title, options)
    opml = options.urls.opml if slug == ALL else options.urls.topic_opml(slug)
    return Subscribe(slug, title, feeds, reader_links(options.urls.feed(slug, "rss")), opml)


def page_count(articles: int, size: int = TOPIC_PAGE_SIZE) -> int:
    """HTML pages a topic's list takes (at least one, even when empty)."""
    return max(1, math.ceil(articles / size))


def render_page(template: str, options: FeedOptions, **context: object) -> str:
    """Render one page template with the context every page shares (site options, URL
    builder, item links, feed alternates): published pages and the web's live pages
    alike, so a template never misses a name."""
    context.setdefault("alternates", [])
    return environment.get_template(template).render(**_shared(options), **context)


def _shared(options: FeedOptions) -> dict[str, object]:
    """The names every template may use, beside its own."""
    return {"options": options, "urls": options.urls, "link": partial(item_link, urls=options.urls)}


def _render(template: str, options: FeedOptions, **context: object) -> bytes:
    return render_page(template, options, **context).encode("utf-8")


class IndexRow(TypedDict):
    """One topic's line on the home page."""

    topic: Topic
    count: int
    feeds: list[FeedLink]
    subscribe: Subscribe


def template_source(name: str) -> str:
    """A template file's text as shipped, for documents served verbatim (the XSL)."""
    source, _filename, _uptodate = _loader.get_source(environment, name)
    return source


def render_index(catalog: Catalog, options: FeedOptions) -> bytes:
    everything = subscribe_for(ALL, options.site_title, options)
    rows: list[IndexRow] = []
    for slug, topic in catalog.topics.items():
        block = subscribe_for(slug, topic.title, options)
        rows.append({"topic": topic, "count": len(catalog.by_topic[slug]), "feeds": block.feeds,
                     "subscribe": block})
    alternates = everything.feeds + [link for row in rows for link in row["feeds"]]
    return _render("index.html", options, topics=rows, subscribe=everything,
                   alternates=alternates, latest=catalog.articles[:INDEX_LATEST],
                   total=len(catalog.articles), search_index=options.urls.absolute(SEARCH_INDEX_PATH))


def topic_page_articles(articles: tuple[Article, ...], page: int) -> tuple[Article, ...]:
    """The articles page `page` (1 = newest) of a topic lists."""
    return articles[(page - 1) * TOPIC_PAGE_SIZE:page * TOPIC_PAGE_SIZE]


def render_list_items(articles: list[Article], options: FeedOptions) -> list[bytes]:
    """Each article's item in a topic page's list (`_article_item.html`), as that page
    shows it: the same in every page that lists the article, so it is rendered once
    per build and the pages are put together from these (`render_topic`).

    UTF-8 bytes, not text: the build process holds an item from the first page that
    lists it to the last, and sends it to a worker with each page. Pickling a text
    that is not ASCII (every item has a "·") makes Python keep a UTF-8 copy inside
    the string for as long as it lives: at 100,000 files, 25 MB of such copies at the
    peak of a build. Bytes are pickled as they are."""
    template = environment.get_template("_article_item.html")
    shared = _shared(options)
    return [template.render(**shared, article=article).encode() for article in articles]


def render_topic(topic: Topic, items: tuple[bytes, ...], count: int, options: FeedOptions,
                 page: int = 1) -> bytes:
    """Page `page` (1 = newest) of a topic of `count` articles: its subscribe block and
    the list `items` of the articles it shows (`topic_page_articles`, rendered by
    `render_list_items`), linked to the pages before and after it (`rel="prev"`/`"next"`,
    in links and the head). A worker process is sent the page's items, not articles."""
    block = subscribe_for(topic.slug, topic.title, options)
    pages = page_count(count)
    urls = options.urls
    listed = [Markup(item.decode()) for item in items]  # noqa: S704 - escaped by _article_item.html
    return _render("topic.html", options, topic=topic, count=count, subscribe=block,
                   alternates=block.feeds, items=listed, page=page, pages=pages,
                   first_number=(page - 1) * TOPIC_PAGE_SIZE + 1,
                   prev_url=urls.topic_listing(topic.slug, page - 1) if page > 1 else None,
                   next_url=urls.topic_listing(topic.slug, page + 1) if page < pages else None,
                   search_index=urls.absolute(SEARCH_INDEX_PATH))


def render_search_index(catalog: Catalog, options: FeedOptions) -> bytes:
    """Every published article, newest first, as compact rows the pages search in the
    browser: a static file, so search needs no server and works from `feedsvc export`."""
    rows = [[a.title, item_link(a, options.urls), a.published.date().isoformat(),
             a.provider.name if a.provider else "", list(a.topics)] for a in catalog.articles]
    # Markup characters escaped, as JSON allows: the index is data even if a page inlines it.
    return dump_json({"fields": list(SEARCH_FIELDS), "articles": rows})


def render_article(article: Article, topics: dict[str, Topic], options: FeedOptions) -> bytes:
    own = [topics[slug] for slug in article.topics]
    alternates = [link for topic in own for link in feed_links(topic.slug, topic.title, options)]
    return _render("article.html", options, article=article, topics=own,
                   alternates=alternates or feed_links(ALL, options.site_title, options))


def render_error(options: FeedOptions, status: int, heading: str, message: str,
                 topics: list[str] | None = None) -> bytes:
    return _render("error.html", options, status=status, heading=heading, message=message,
                   topics=topics or [])
