"""What every feed document shares: its head, paging links, the stylesheet, splicing.

Each format (`feedsvc.render.formats`) assembles its document from these: a
head written by feedgen in one pass, with the entry fragments spliced in
before the closing tag (entries are rendered once per build, see
`entries.py`). What feedgen has no setter for (RFC 5005 paging and the
WebSub hub as RSS `atom:link`s, the archive marker) it writes through an
extension of ours, `_PagingExtension`, so no document is serialised, parsed
again and serialised a second time.
"""

from __future__ import annotations

from datetime import datetime

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.models import Topic
from feedsvc.render.common import GENERATOR, FeedOptions, Page
from feedsvc.render.entries import new_feed_generator
from feedsvc.render.icons import LOGO_HEIGHT, LOGO_WIDTH
from feedsvc.urls import ICON_PATH, LOGO_PATH, STYLESHEET_PATH

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"


def page_url(options: FeedOptions, page: Page, extension: str) -> str:
    urls = options.urls
    if page.is_archive:
        return urls.archive(page.slug, page.number, extension)
    return urls.feed(page.slug, extension)


def extra_links(options: FeedOptions, page: Page, extension: str) -> list[tuple[str, str]]:
    """(rel, href) links beyond self and alternate: WebSub hub and RFC 5005 paging."""
    urls = options.urls
    links: list[tuple[str, str]] = []
    if options.websub_hub and not page.is_archive:
        links.append(("hub", options.websub_hub))
    if page.is_archive:
        links.append(("current", urls.feed(page.slug, extension)))
    if page.prev_archive:
        links.append(("prev-archive", urls.archive(page.slug, page.prev_archive, extension)))
    if page.next_archive:
        links.append(("next-archive", urls.archive(page.slug, page.next_archive, extension)))
    return links


def feed_title(topic: Topic, page: Page, options: FeedOptions) -> str:
    title = options.site_title if page.slug == "all" else f"{topic.title} · {options.site_title}"
    return f"{title} (archive {page.number})" if page.is_archive else title


def feed_description(topic: Topic, options: FeedOptions) -> str:
    if topic.slug == "all":
        return options.site_description
    return topic.description or f"{topic.title}: news from {options.site_title}."


class _PagingExtension(BaseExtension):  # type: ignore[misc] # feedgen is untyped
    """What feedgen has no setter for, written into its own tree as it builds it: the
    hub and RFC 5005 links as `atom:link`s in an RSS channel, and RFC 5005's
    `<fh:archive/>` in an archive document of either format. Registered last, so
    these come after everything feedgen and its other extensions write."""

    def __init__(self) -> None:
        self.rss_links: list[dict[str, str]] = []
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {}  # atom is declared by feedgen; fh on the archive marker itself

    def extend_rss(self, rss_feed: etree._Element) -> etree._Element:
        channel = rss_feed.find("channel")
        if channel is None:  # pragma: no cover - feedgen always writes one
            raise ValueError("feedgen wrote an RSS document without a <channel>")
        for attrs in self.rss_links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", attrs)
        if self.archive:
            mark_archive(channel)
        return rss_feed

    def extend_atom(self, atom_feed: etree._Element) -> etree._Element:
        if self.archive:
            mark_archive(atom_feed)
        return atom_feed


def feed_head(topic: Topic, page: Page, options: FeedOptions, extension: str, media_type: str,
              updated: datetime, *, paging_links: bool) -> FeedGenerator:
    """The document head every XML format shares, as a FeedGenerator: feedgen writes
    RSS channels and Atom feeds correctly (only its entries are written by hand).
    The hub and RFC 5005 links are feedgen's own links when `paging_links` (Atom),
    else `atom:link`s in the channel (RSS); an archive page is marked as one."""
    urls = options.urls
    self_url = page_url(options, page, extension)
    fg = new_feed_generator()
    fg.register_extension("paging", _PagingExtension, None, atom=True, rss=True)
    fg.paging.archive = page.is_archive
    fg.id(self_url)
    fg.title(feed_title(topic, page, options))
    fg.description(feed_description(topic, options))
    fg.language(options.language)
    fg.author(name=options.site_title, uri=urls.absolute("/"))
    fg.generator(*GENERATOR)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.link(href=self_url, rel="self", type=media_type)
    for rel, href in extra_links(options, page, extension):
        if paging_links:
            fg.link(href=href, rel=rel, type=media_type if rel != "hub" else None)
        else:
            fg.paging.rss_links.append({"href": href, "rel": rel} if rel == "hub"
                                       else {"href": href, "rel": rel, "type": media_type})
    fg.link(href=urls.topic_page(page.slug), rel="alternate", type="text/html")  # last: RSS <link>
    # feedgen writes one image as both RSS <image> and Atom <logo>: the 2:1 logo,
    # 144 pixels wide (the most RSS allows). Atom's <icon> is the square icon.
    fg.image(url=urls.absolute(LOGO_PATH), title=feed_title(topic, page, options),
             link=urls.topic_page(page.slug), width=str(LOGO_WIDTH), height=str(LOGO_HEIGHT))
    fg.icon(urls.absolute(ICON_PATH))
    return fg


def mark_archive(parent: etree._Element) -> None:
    """RFC 5005 section 4: an archive document says so with <fh:archive/>."""
    etree.SubElement(parent, f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS})


def splice(header: bytes, closing: bytes, entries: list[bytes], options: FeedOptions) -> bytes:
    """The whole document: the head with the stylesheet instruction, then the entry
    fragments before the root's closing tag."""
    head, _, tail = with_stylesheet(header, options).rpartition(closing)
    return b"".join((head, *entries, closing, tail))


def with_stylesheet(header: bytes, options: FeedOptions) -> bytes:
    """Point browsers at the XSL stylesheet that renders the feed as a readable page.

    A processing instruction right after the XML declaration: feed readers
    ignore it, browsers that still do XSLT apply it."""
    declaration, _, rest = header.partition(b"?>")
    href = options.urls.absolute(STYLESHEET_PATH).encode()
    return declaration + b'?>\n<?xml-stylesheet type="text/xsl" href="' + href + b'"?>' + rest
