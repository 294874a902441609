"""Whole feed documents: a header from feedgen with the entry fragments spliced in."""

from __future__ import annotations

from lxml import etree

from feedsvc.models import Topic
from datetime import datetime

from feedsvc.render.common import GENERATOR, FeedOptions, Page
from feedsvc.render.entries import json_with_items, new_feed_generator
from feedsvc.render.icons import LOGO_HEIGHT, LOGO_WIDTH
from feedsvc.urls import FAVICON_PATH, ICON_PATH, LOGO_PATH, MEDIA_TYPES, STYLESHEET_PATH

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"


def _page_url(options: FeedOptions, page: Page, fmt: str) -> str:
    urls = options.urls
    return urls.archive(page.slug, page.number, fmt) if page.is_archive else urls.feed(page.slug, fmt)


def _extra_links(options: FeedOptions, page: Page, fmt: str) -> list[tuple[str, str]]:
    """(rel, href) links beyond self and alternate: WebSub hub and RFC 5005 paging."""
    urls = options.urls
    links: list[tuple[str, str]] = []
    if options.websub_hub and not page.is_archive:
        links.append(("hub", options.websub_hub))
    if page.is_archive:
        links.append(("current", urls.feed(page.slug, fmt)))
    if page.prev_archive:
        links.append(("prev-archive", urls.archive(page.slug, page.prev_archive, fmt)))
    if page.next_archive:
        links.append(("next-archive", urls.archive(page.slug, page.next_archive, fmt)))
    return links


def _title(topic: Topic, page: Page, options: FeedOptions) -> str:
    title = options.site_title if page.slug == "all" else f"{topic.title} · {options.site_title}"
    return f"{title} (archive {page.number})" if page.is_archive else title


def _description(topic: Topic, options: FeedOptions) -> str:
    if topic.slug == "all":
        return options.site_description
    return topic.description or f"{topic.title}: news from {options.site_title}."


def _header(topic: Topic, page: Page, options: FeedOptions, fmt: str, updated: datetime) -> bytes:
    urls = options.urls
    self_url = _page_url(options, page, fmt)
    fg = new_feed_generator()
    fg.id(self_url)
    fg.title(_title(topic, page, options))
    fg.description(_description(topic, options))
    fg.language(options.language)
    fg.author(name=options.site_title, uri=urls.absolute("/"))
    fg.generator(*GENERATOR)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[fmt])
    if fmt == "atom":
        for rel, href in _extra_links(options, page, fmt):
            fg.link(href=href, rel=rel, type=MEDIA_TYPES[fmt] if rel != "hub" else None)
    fg.link(href=urls.topic_page(page.slug), rel="alternate", type="text/html")  # last: RSS <link>
    # feedgen writes one image as both RSS <image> and Atom <logo>: the 2:1 logo,
    # 144 pixels wide (the most RSS allows). Atom's <icon> is the square icon.
    fg.image(url=urls.absolute(LOGO_PATH), title=_title(topic, page, options),
             link=urls.topic_page(page.slug), width=str(LOGO_WIDTH), height=str(LOGO_HEIGHT))
    fg.icon(urls.absolute(ICON_PATH))
    raw = fg.rss_str(pretty=False) if fmt == "rss" else fg.atom_str(pretty=False)
    if fmt == "rss" or page.is_archive:
        raw = _add_history(raw, options, page, fmt)
    return raw


def _add_history(raw: bytes, options: FeedOptions, page: Page, fmt: str) -> bytes:
    """RSS gets its hub and archive links as atom:link; archives get <fh:archive/>."""
    root = etree.fromstring(raw)
    parent = root.find("channel") if fmt == "rss" else root
    if fmt == "rss":
        for rel, href in _extra_links(options, page, fmt):
            attrs = {"href": href, "rel": rel}
            if rel != "hub":
                attrs["type"] = MEDIA_TYPES[fmt]
            etree.SubElement(parent, f"{{{ATOM_NS}}}link", attrs)
    if page.is_archive:
        etree.SubElement(parent, f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def xml_document(topic: Topic, page: Page, options: FeedOptions, fmt: str,
                 entries: list[bytes], updated: datetime) -> bytes:
    """The feed document: `updated` is its newest entry's date (see `newest_update`)."""
    header = _with_stylesheet(_header(topic, page, options, fmt, updated), options)
    closing = b"</channel>" if fmt == "rss" else b"</feed>"
    head, _, tail = header.rpartition(closing)
    return b"".join((head, *entries, closing, tail))


def _with_stylesheet(header: bytes, options: FeedOptions) -> bytes:
    """Point browsers at the XSL stylesheet that renders the feed as a readable page.

    A processing instruction right after the XML declaration: feed readers
    ignore it, browsers that still do XSLT apply it."""
    declaration, _, rest = header.partition(b"?>")
    href = options.urls.absolute(STYLESHEET_PATH).encode()
    return declaration + b'?>\n<?xml-stylesheet type="text/xsl" href="' + href + b'"?>' + rest


def json_document(topic: Topic, page: Page, options: FeedOptions, entries: list[bytes]) -> bytes:
    urls = options.urls
    feed: dict = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _title(topic, page, options),
        "home_page_url": urls.topic_page(page.slug),
        "feed_url": _page_url(options, page, "json"),
        "description": _description(topic, options),
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
