"""What every format's entry fragments share: escaping, images, the content HTML.

An article's entry is the same in every feed that contains it (the all feed,
each of its topics, an archive page), so each entry is rendered once per build
(`feedsvc.render.formats.render_entries`) and spliced into every document
that needs it. Each format module writes its own entry with these helpers.

The RSS `<item>` and Atom `<entry>` are written by hand, not by feedgen (which
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

import mimetypes
import re
from html import escape
from urllib.parse import unquote, urlsplit

import orjson
from feedgen.feed import FeedGenerator

# isort: split
# After feedgen.feed, which imports lxml.etree: feedgen.util, which the extensions
# import, uses it without importing it.
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension

from feedsvc.content.markup import XML_FORBIDDEN
from feedsvc.models import Article, Event, Image


def new_feed_generator() -> FeedGenerator:
    """A FeedGenerator with the extensions (and so the namespaces) every document declares.

    Registered by class, not with `load_extension`: that one tries to import a
    `feedgen.ext.<name>_entry` module that does not exist for either extension, and a
    failed import is not cached, so every RSS and Atom document paid a search of the
    whole import path (812 of them made a cold build of 10,000 files take 7.6 s
    instead of 7.0). The classes are the ones `load_extension` falls back to."""
    fg = FeedGenerator()
    fg.register_extension("media", MediaExtension, MediaEntryExtension, atom=True, rss=True)
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    return fg


# What `html.escape` replaces (with quote=False, and with quote=True). Most values (URLs,
# titles, media types) hold none of these, and one search in C finds that out faster
# than escape's five passes: a feed entry escapes about 80 values, in three formats.
_TEXT_SPECIAL = re.compile("[&<>]")
_ATTR_SPECIAL = re.compile("[&<>\"']")


def xml_text(value: str) -> str:
    """XML character data: escaped, and free of characters XML 1.0 forbids.

    A printable value has no forbidden character (they are all control characters or
    non-characters), and most values are: the regex pass is for the others."""
    if not value.isprintable():
        value = XML_FORBIDDEN.sub("", value)
    return escape(value, quote=False) if _TEXT_SPECIAL.search(value) else value


def xml_attr(value: str) -> str:
    if not value.isprintable():
        value = XML_FORBIDDEN.sub("", value)
    return escape(value, quote=True) if _ATTR_SPECIAL.search(value) else value


def element(name: str, text: str, **attrs: str) -> str:
    """<name attrs>text</name>, every value escaped."""
    attributes = "".join(f' {key}="{xml_attr(value)}"' for key, value in attrs.items())
    return f"<{name}{attributes}>{xml_text(text)}</{name}>"


def empty_element(name: str, attrs: dict[str, str]) -> str:
    """<name attrs/>, every value escaped, in the order given (deterministic bytes)."""
    attributes = "".join(f' {key}="{xml_attr(value)}"' for key, value in attrs.items())
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


def media_elements(image: Image) -> str:
    """Media RSS for one image: media:content and media:thumbnail, no one-item group."""
    size = {k: str(v) for k, v in (("width", image.width), ("height", image.height)) if v}
    content = {"url": image.url, "medium": "image", "type": image_media_type(image.url), **size}
    return (empty_element("media:content", content)
            + empty_element("media:thumbnail", {"url": image.url, **size}))


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
        parts.append(_event_html(article.event))
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


def _event_html(event: Event) -> str:
    when = f"{event.start:%d %B %Y}".lstrip("0")
    if event.end is not None and event.end.date() != event.start.date():
        when += f" to {event.end:%d %B %Y}".replace(" 0", " ")
    where = f", {escape(event.location)}" if event.location else ""
    return f'<p class="event"><strong>Event:</strong> {escape(when)}{where}</p>'




def dump_json(value: object) -> bytes:
    """Compact UTF-8 JSON with <, > and & escaped: the same values, but bytes that
    cannot be mistaken for markup if a browser or proxy ever sniffs them as HTML.

    Written by orjson, in C: the same bytes as `json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))` encoded as UTF-8 for what we write (strings, integers,
    booleans, None, lists and dicts with string keys; floats are spelled differently,
    and we write none), tested against it; about 1.4 us for a feed item against 30 us.
    The three replacements run in C too (a translation table was 7% of a cold build)."""
    return (orjson.dumps(value).replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
            .replace(b"&", b"\\u0026"))
