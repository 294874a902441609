"""HTML pages: the index, one page per topic, one per self-published article.

Rendered at build time like the feeds, so the web process serves them with the
same validators and caching, and `feedsvc export` can host them statically.
Jinja autoescaping covers every title and summary; article bodies are already
sanitised HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from jinja2 import Environment, PackageLoader, select_autoescape

from feedsvc.catalog import ALL, Catalog
from feedsvc.models import Article, Topic
from feedsvc.render.common import FeedOptions, item_link
from feedsvc.render.formats import feed_format, feed_formats

TOPIC_PAGE_ARTICLES = 200
INDEX_LATEST = 20

_loader = PackageLoader("feedsvc", "templates")
environment = Environment(
    loader=_loader,
    autoescape=select_autoescape(["html"]),
    trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True,
)


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


def render_page(template: str, options: FeedOptions, **context: object) -> str:
    """Render one page template with the context every page shares (site options, URL
    builder, item links, feed alternates): published pages and the web's live pages
    alike, so a template never misses a name."""
    context.setdefault("alternates", [])
    return environment.get_template(template).render(
        options=options, urls=options.urls, link=lambda a: item_link(a, options.urls),
        **context)


def _render(template: str, options: FeedOptions, **context: object) -> bytes:
    return render_page(template, options, **context).encode("utf-8")


class IndexRow(TypedDict):
    """One topic's line on the home page."""

    topic: Topic
    count: int
    feeds: list[FeedLink]


def template_source(name: str) -> str:
    """A template file's text as shipped, for documents served verbatim (the XSL)."""
    source, _filename, _uptodate = _loader.get_source(environment, name)
    return source


def render_index(catalog: Catalog, options: FeedOptions) -> bytes:
    everything = feed_links(ALL, options.site_title, options)
    rows: list[IndexRow] = [{"topic": topic, "count": len(catalog.by_topic[slug]),
             "feeds": feed_links(slug, topic.title, options)} for slug, topic in catalog.topics.items()]
    alternates = everything + [link for row in rows for link in row["feeds"]]
    return _render("index.html", options, topics=rows, subscribe=everything,
                   alternates=alternates, latest=catalog.articles[:INDEX_LATEST])


def render_topic(topic: Topic, articles: tuple[Article, ...], options: FeedOptions) -> bytes:
    links = feed_links(topic.slug, topic.title, options)
    return _render("topic.html", options, topic=topic, count=len(articles), subscribe=links,
                   alternates=links, articles=articles[:TOPIC_PAGE_ARTICLES])


def render_article(article: Article, topics: dict[str, Topic], options: FeedOptions) -> bytes:
    own = [topics[slug] for slug in article.topics]
    alternates = [link for topic in own for link in feed_links(topic.slug, topic.title, options)]
    return _render("article.html", options, article=article, topics=own,
                   alternates=alternates or feed_links(ALL, options.site_title, options))


def render_error(options: FeedOptions, status: int, heading: str, message: str,
                 topics: list[str] | None = None) -> bytes:
    return _render("error.html", options, status=status, heading=heading, message=message,
                   topics=topics or [])
