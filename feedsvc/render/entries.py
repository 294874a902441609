"""Per-article entry fragments for RSS, Atom and JSON Feed.

An article's entry is the same in every feed that contains it (the all feed,
each of its topics, an archive page), so each entry is rendered once per build
and spliced into every document that needs it.

The RSS `<item>` and Atom `<entry>` are written here, not by feedgen (which
still writes every document's head, see `documents.py`). feedgen 1.0's entry
writer cannot say what real readers need: it drops `rel`, `type` and `title`
of Atom entry links (lkiesow/python-feedgen#135), so a related story became an
unmarked alternate that rss-parser and feed-extractor opened instead of the
article; it writes plain-text summaries into RSS `<description>`, which every
reader treats as HTML (`5 < 6` lost text, `R&D` broke validators); and it
has no way to put one image in an `<enclosure>` and in Media RSS without a
one-item `media:group`. What each reader reads, measured with real clients:

* the item link: RSS `<link>`; Atom: exactly one `rel="alternate"
  type="text/html"` link, written first (rss-parser and feed-extractor take
  the first `<link>`, feedparser the last alternate), every other link with
  its `rel` (`related`, `enclosure`);
* the image: RSS `<enclosure>` (newsboat, rss-parser), `media:content` and
  `media:thumbnail` (feedparser, Feedly, Inoreader), Atom `rel="enclosure"`,
  JSON Feed `image`;
* the summary: HTML-escaped in RSS `<description>`, `type="text"` in Atom,
  plain `summary` in JSON Feed: the same words in all three.

Text and attribute values are escaped by one function each and every
fragment is checked to be well-formed XML in the tests (and read back by
real clients); the namespaces used (`content`, `dc`, `media`, `atom`) are
declared by the document heads.
"""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape
from urllib.parse import unquote, urlsplit

from feedgen.feed import FeedGenerator

from feedsvc.content.markup import XML_FORBIDDEN
from feedsvc.models import Article, Image, Topic
from feedsvc.render.common import DEAD_LINK_LABEL, DEAD_LINK_TERM, FeedOptions, item_link


@dataclass(frozen=True, slots=True)
class Fragments:
    rss: bytes
    atom: bytes
    json: bytes


def new_feed_generator() -> FeedGenerator:
    """A FeedGenerator with the extensions (and so the namespaces) every document declares."""
    fg = FeedGenerator()
    fg.load_extension("media", atom=True, rss=True)
    fg.load_extension("dc", atom=False, rss=True)
    return fg


def _text(value: str) -> str:
    """XML character data: escaped, and free of characters XML 1.0 forbids."""
    return escape(XML_FORBIDDEN.sub("", value), quote=False)


def _attr(value: str) -> str:
    return escape(XML_FORBIDDEN.sub("", value), quote=True)


def _element(name: str, text: str, **attrs: str) -> str:
    attributes = "".join(f' {key.rstrip("_").replace("__", ":")}="{_attr(value)}"'
                         for key, value in attrs.items())
    return f"<{name}{attributes}>{_text(text)}</{name}>"


def _empty(name: str, attrs: dict[str, str]) -> str:
    attributes = "".join(f' {key}="{_attr(value)}"' for key, value in attrs.items())
    return f"<{name}{attributes}/>"


_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
                ".svg": "image/svg+xml"}
_EXTENSION = re.compile(r"\.(jpe?g|png|gif|webp|avif|svg)(?![a-z0-9])", re.I)


def image_media_type(url: str) -> str:
    """The image's media type from its URL: the path's extension, else one named in
    the query (image CDNs: `?url=...photo.jpg`), else image/jpeg, by far the most
    common type of news images (an enclosure must carry a type)."""
    parts = urlsplit(url)
    for candidate in (parts.path, unquote(parts.query)):
        match = _EXTENSION.search(candidate)
        if match:
            return _IMAGE_TYPES[f".{match.group(1).lower()}"]
    guessed, _ = mimetypes.guess_type(parts.path)
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _media(image: Image) -> str:
    size = {k: str(v) for k, v in (("width", image.width), ("height", image.height)) if v}
    content = {"url": image.url, "medium": "image", "type": image_media_type(image.url), **size}
    return _empty("media:content", content) + _empty("media:thumbnail", {"url": image.url, **size})


def _rss_item(article: Article, topics: dict[str, Topic], options: FeedOptions) -> str:
    urls = options.urls
    parts = [_element("title", article.title), _element("link", item_link(article, urls))]
    content = entry_html(article)
    if article.summary:
        parts.append(_element("description", escape(article.summary, quote=False)))
        if content:
            parts.append(_element("content:encoded", content))
    elif content:
        parts.append(_element("description", content))
    parts.append(_element("guid", article.id, isPermaLink="false"))
    if article.provider is not None:
        parts.append(_element("dc:creator", article.provider.name))
    for slug in article.topics:
        parts.append(_element("category", topics[slug].title, domain=urls.topic_scheme + slug))
    if article.link_note:
        parts.append(_element("category", DEAD_LINK_LABEL, domain=urls.absolute("links")))
    parts.append(_element("pubDate", format_datetime(article.published)))
    if article.image is not None:
        # length 0: unknown, as the RSS Best Practices Profile allows.
        parts.append(_empty("enclosure", {"url": article.image.url, "length": "0",
                                          "type": image_media_type(article.image.url)}))
        parts.append(_media(article.image))
    return "<item>" + "".join(parts) + "</item>"


def _atom_entry(article: Article, topics: dict[str, Topic], options: FeedOptions) -> str:
    urls = options.urls
    parts = [_element("id", article.id), _element("title", article.title, type="text"),
             _element("updated", article.updated.isoformat()),
             _element("published", article.published.isoformat()),
             _empty("link", {"rel": "alternate", "type": "text/html",
                             "href": item_link(article, urls)})]
    for related in article.related:
        parts.append(_empty("link", {"rel": "related", "type": "text/html", "href": related.url,
                                     "title": related.title}))
    if article.image is not None:
        parts.append(_empty("link", {"rel": "enclosure", "href": article.image.url,
                                     "type": image_media_type(article.image.url)}))
    if article.provider is not None:
        uri = _element("uri", article.provider.url) if article.provider.url else ""
        parts.append(f"<author>{_element('name', article.provider.name)}{uri}</author>")
    if article.summary:
        parts.append(_element("summary", article.summary, type="text"))
    content = entry_html(article)
    if content:
        parts.append(_element("content", content, type="html"))
    for slug in article.topics:
        parts.append(_empty("category", {"term": slug, "scheme": urls.topic_scheme,
                                         "label": topics[slug].title}))
    if article.link_note:
        parts.append(_empty("category", {"term": DEAD_LINK_TERM, "scheme": urls.absolute("links"),
                                         "label": DEAD_LINK_LABEL}))
    if article.image is not None:
        parts.append(_media(article.image))
    return "<entry>" + "".join(parts) + "</entry>"


def entry_html(article: Article) -> str:
    """The entry's HTML content: the lead image, the body (the summary when there is
    none); when the article is an event, when and where it takes place; related
    coverage (most readers show no related links otherwise); for a dead link, a
    note saying where the item points now."""
    body = article.content_html
    image = _lead_image_html(article)
    extras = image or article.event is not None or article.related or article.link_note
    if extras and not body and article.summary:
        # Readers show content instead of the summary: it must not lose the summary.
        body = f"<p>{escape(article.summary)}</p>"
    parts = [part for part in (image, body) if part]
    if article.event is not None:
        parts.append(_event_html(article))
    if article.related:
        items = "".join(
            f'<li><a href="{escape(r.url, quote=True)}">{escape(r.title)}</a>'
            + (f" ({escape(r.provider)})" if r.provider else "") + "</li>"
            for r in article.related)
        parts.append(f'<p class="related">Related coverage:</p>\n<ul class="related">{items}</ul>')
    if article.link_note:
        original = escape(article.original_url or "", quote=True)
        parts.append(f'<p class="link-note"><em>{escape(article.link_note)}</em> '
                     f'Original address: <a href="{original}">{escape(article.original_url or "")}</a></p>')
    return "\n".join(parts)


def _lead_image_html(article: Article) -> str:
    """The lead image at the top of the content: the one place every reader shows an
    image (newsboat 2.21 keeps only podcast enclosures, and lists <img> links).
    Left out when the body already shows that image."""
    image = article.image
    if image is None or image.url in article.content_html:
        return ""
    size = "".join(f' {k}="{v}"' for k, v in (("width", image.width), ("height", image.height)) if v)
    alt = escape(image.title or article.title, quote=True)
    return f'<p class="lead-image"><img src="{escape(image.url, quote=True)}" alt="{alt}"{size}></p>'


def _event_html(article: Article) -> str:
    event = article.event
    assert event is not None
    when = f"{event.start:%d %B %Y}".lstrip("0")
    if event.end is not None and event.end.date() != event.start.date():
        when += f" to {event.end:%d %B %Y}".replace(" 0", " ")
    where = f", {escape(event.location)}" if event.location else ""
    return f'<p class="event"><strong>Event:</strong> {escape(when)}{where}</p>'


def json_item(article: Article, topics: dict[str, Topic], options: FeedOptions) -> dict:
    urls = options.urls
    item: dict = {"id": article.id, "url": item_link(article, urls), "title": article.title}
    content = entry_html(article)
    if content:
        item["content_html"] = content
    else:
        item["content_text"] = article.summary or article.title
    if article.summary:
        item["summary"] = article.summary
    if article.image is not None:
        item["image"] = article.image.url
    item["date_published"] = article.published.isoformat()
    item["date_modified"] = article.updated.isoformat()
    if article.provider is not None:
        author = {"name": article.provider.name}
        if article.provider.url:
            author["url"] = article.provider.url
        item["authors"] = [author]
    tags = [topics[slug].title for slug in article.topics]
    if article.link_note:
        tags.append(DEAD_LINK_LABEL)
    if tags:
        item["tags"] = tags
    extension: dict = {}
    if article.related:
        extension["related"] = [{"title": r.title, "url": r.url} for r in article.related]
    if article.event is not None:
        extension["event"] = {"start": article.event.start.isoformat(),
                              "end": article.event.end.isoformat() if article.event.end else None,
                              "location": article.event.location}
    if article.link_status:
        extension["link_status"] = article.link_status
        extension["original_url"] = article.original_url
    if extension:
        item["_feedsvc"] = extension
    return item


_JSON_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def dump_json(value: object) -> bytes:
    """Compact UTF-8 JSON with <, > and & escaped: the same values, but bytes that
    cannot be mistaken for markup if a browser or proxy ever sniffs them as HTML."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_HTML_ESCAPES).encode("utf-8")


def json_with_items(head: dict, items: list[bytes]) -> bytes:
    """`head` as JSON with a last member "items": an array of pre-encoded objects."""
    encoded = dump_json({**head, "items": []})
    return b"".join((encoded[:-2], b",".join(items), b"]}"))


def render_fragments(articles: list[Article], topics: dict[str, Topic],
                     options: FeedOptions) -> list[Fragments]:
    """Entries for these articles in the three formats, in the same order."""
    return [Fragments(_rss_item(article, topics, options).encode("utf-8"),
                      _atom_entry(article, topics, options).encode("utf-8"),
                      dump_json(json_item(article, topics, options)))
            for article in articles]
