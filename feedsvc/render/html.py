"""HTML pages: the index, one page per topic, one per self-published article.

Rendered at build time like the feeds, so the web process serves them with the
same validators and caching, and `feedsvc export` can host them statically.
Jinja autoescaping covers every title and summary; article bodies are already
sanitised HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from feedsvc.catalog import ALL, Catalog
from feedsvc.models import Article, Topic
from feedsvc.render.common import FeedOptions, item_link
from feedsvc.urls import FEED_FORMATS, MEDIA_TYPES

TOPIC_PAGE_ARTICLES = 200
INDEX_LATEST = 20
FORMAT_LABELS = {"rss": "RSS 2.0", "atom": "Atom 1.0", "json": "JSON Feed 1.1"}
FORMAT_SHORT = {"rss": "RSS", "atom": "Atom", "json": "JSON"}

environment = Environment(
    loader=PackageLoader("feedsvc", "templates"),
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
        return MEDIA_TYPES[self.format]

    @property
    def label(self) -> str:
        return f"{FORMAT_LABELS[self.format]} feed"

    @property
    def short(self) -> str:
        return FORMAT_SHORT[self.format]


def feed_links(slug: str, title: str, options: FeedOptions) -> list[FeedLink]:
    urls = options.urls
    return [FeedLink(fmt, urls.feed(slug, fmt), f"{title} ({FORMAT_SHORT[fmt]})") for fmt in FEED_FORMATS]


def _render(template: str, options: FeedOptions, **context) -> bytes:
    context.setdefault("alternates", [])
    return environment.get_template(template).render(
        options=options, urls=options.urls, link=lambda a: item_link(a, options.urls),
        **context).encode("utf-8")


def render_index(catalog: Catalog, options: FeedOptions) -> bytes:
    everything = feed_links(ALL, options.site_title, options)
    rows = [{"topic": topic, "count": len(catalog.by_topic[slug]),
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
