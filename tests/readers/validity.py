"""The strictest feed checks available offline, one function per rule.

RFC 4287's RELAX NG grammar (lxml), its Schematron rules in Python, and the
specific errors the W3C feed validator reported to users: DuplicateAtomLink,
a media:group holding a single media:content, unescaped `&` or markup in an
RSS <description>, RSS dates that are not RFC 822, relative URLs, a missing
rel="self", and 1970 dates. Each check returns human-readable problems.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
from lxml import etree

from tests.readers.site import ATOM, Document

DATA = Path(__file__).resolve().parent.parent / "data"
MEDIA = "http://search.yahoo.com/mrss/"
A = f"{{{ATOM}}}"
M = f"{{{MEDIA}}}"

RFC822 = re.compile(r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
                    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                    r"\d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)$")
BARE_AMPERSAND = re.compile(r"&(?!#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
BARE_LT = re.compile(r"<(?![A-Za-z/!?])")
DATE_1970 = re.compile(rb"1970-\d\d-\d\d"
                       rb"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 1970\b")
URL_ATTRIBUTES = {"href", "url", "src", "domain", "scheme", "uri"}
URL_ELEMENTS = {"link", "docs", "comments", f"{A}uri", f"{A}icon", f"{A}logo", "url"}
JSON_URL_KEYS = {"home_page_url", "feed_url", "next_url", "url", "external_url", "image", "banner_image",
                 "icon", "favicon", "avatar"}


@cache
def atom_grammar() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "readers" / "atom.rng")))


@cache
def jsonfeed_schema() -> jsonschema.protocols.Validator:
    schema = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def xml(doc: Document) -> etree._Element:
    return etree.fromstring(doc.body)


def absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def entries(doc: Document) -> Iterator[etree._Element]:
    root = xml(doc)
    yield from root.iter(f"{A}entry") if doc.fmt == "atom" else root.iter("item")


def entry_name(element: etree._Element) -> str:
    return element.findtext(f"{A}id") or element.findtext("guid") or "?"


# --- the checks -------------------------------------------------------------

def check_http(doc: Document) -> list[str]:
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
    problems = []
    if doc.status != 200:
        problems.append(f"HTTP {doc.status}")
    if not doc.headers.get("content-type", "").startswith(types[doc.fmt]):
        problems.append(f"Content-Type {doc.headers.get('content-type')!r}, expected {types[doc.fmt]}")
    return problems


def check_atom_schema(doc: Document) -> list[str]:
    if doc.fmt != "atom":
        return []
    grammar = atom_grammar()
    if grammar.validate(xml(doc)):
        return []
    return [f"line {e.line}: {e.message}" for e in grammar.error_log][:5]


def check_atom_schematron(doc: Document) -> list[str]:
    """RFC 4287's Schematron rules: DuplicateAtomLink, alternate link without content, authors."""
    if doc.fmt != "atom":
        return []
    problems = []
    root = xml(doc)
    feed_has_author = root.find(f"{A}author") is not None
    for element in [root, *root.iter(f"{A}entry")]:
        alternates = Counter((link.get("type"), link.get("hreflang")) for link in element.findall(f"{A}link")
                             if link.get("rel", "alternate") == "alternate")
        for (mime, lang), n in alternates.items():
            if n > 1:
                problems.append(f"DuplicateAtomLink: {entry_name(element)} has {n} rel=alternate links "
                                f"with type={mime!r} hreflang={lang!r}")
        if element is not root:
            if element.find(f"{A}content") is None and not alternates:
                problems.append(f"{entry_name(element)}: no atom:content and no rel=alternate link")
            if not feed_has_author and element.find(f"{A}author") is None:
                problems.append(f"{entry_name(element)}: no atom:author and the feed has none")
    return problems


def check_media_groups(doc: Document) -> list[str]:
    if doc.fmt == "json":
        return []
    return [f"{entry_name(group.getparent())}: media:group around {n} media:content "
            "(a group needs two or more)"
            for group in xml(doc).iter(f"{M}group")
            if (n := len(group.findall(f"{M}content"))) < 2]


def check_rss_descriptions(doc: Document) -> list[str]:
    """Readers render <description> as HTML: once unescaped it must be HTML, not raw text."""
    if doc.fmt != "rss":
        return []
    problems = []
    for item in xml(doc).iter("item"):
        text = item.findtext("description") or ""
        for rx, what in ((BARE_AMPERSAND, "an unescaped '&'"), (BARE_LT, "an unescaped '<'")):
            if m := rx.search(text):
                problems.append(f"{entry_name(item)}: description has {what}: "
                                f"{text[max(0, m.start() - 30):m.start() + 30]!r}")
    return problems


def check_rss_dates(doc: Document) -> list[str]:
    if doc.fmt != "rss":
        return []
    problems = []
    for element in xml(doc).iter("pubDate", "lastBuildDate"):
        value = (element.text or "").strip()
        if not RFC822.match(value):
            problems.append(f"{element.tag} {value!r} is not RFC 822")
            continue
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            problems.append(f"{element.tag} {value!r} does not parse")
    return problems


def _json_urls(node, path="") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in JSON_URL_KEYS and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from _json_urls(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _json_urls(value, f"{path}[{i}]")


def check_absolute_urls(doc: Document) -> list[str]:
    if doc.fmt == "json":
        return [f"{where}: {url!r} is not an absolute http(s) URL"
                for where, url in _json_urls(json.loads(doc.body)) if not absolute(url)]
    problems = []
    root = xml(doc)
    for pi in root.itersiblings(preceding=True):
        if isinstance(pi, etree._ProcessingInstruction) and not absolute(pi.get("href")):
            problems.append(f"<?{pi.target}?> href {pi.get('href')!r} is relative")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name in URL_ATTRIBUTES and not absolute(value):
                problems.append(f"{element.tag} @{name}={value!r} is not an absolute http(s) URL")
        if element.tag in URL_ELEMENTS and not len(element) and not absolute(element.text):
            problems.append(f"<{element.tag}>{element.text!r} is not an absolute http(s) URL")
        if (element.tag == "guid" and element.get("isPermaLink", "true") == "true"
                and not absolute(element.text)):
            problems.append(f"permalink guid {element.text!r} is not an absolute URL")
    return problems


def check_self_link(doc: Document) -> list[str]:
    if doc.fmt == "json":
        feed_url = json.loads(doc.body).get("feed_url")
        return [] if feed_url == doc.url else [f"feed_url {feed_url!r}, expected {doc.url!r}"]
    root = xml(doc)
    parent = root.find("channel") if doc.fmt == "rss" else root
    selves = [link.get("href") for link in parent.findall(f"{A}link") if link.get("rel") == "self"]
    if not selves:
        return ["no atom:link rel=\"self\""]
    return [] if selves == [doc.url] else [f"rel=self {selves!r}, expected [{doc.url!r}]"]


def check_no_1970(doc: Document) -> list[str]:
    problems = [f"a 1970 date in the body: {m.group().decode()!r}" for m in DATE_1970.finditer(doc.body)][:5]
    last_modified = doc.headers.get("last-modified", "")
    if "1970" in last_modified:
        problems.append(f"Last-Modified: {last_modified}")
    return problems


def check_jsonfeed_schema(doc: Document) -> list[str]:
    if doc.fmt != "json":
        return []
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonfeed_schema().iter_errors(json.loads(doc.body))][:5]


CHECKS: dict[str, Callable[[Document], list[str]]] = {
    "http": check_http,
    "atom-rfc4287-relaxng": check_atom_schema,
    "atom-rfc4287-schematron": check_atom_schematron,
    "media-group": check_media_groups,
    "rss-description-html": check_rss_descriptions,
    "rss-dates-rfc822": check_rss_dates,
    "absolute-urls": check_absolute_urls,
    "self-link": check_self_link,
    "no-1970": check_no_1970,
    "jsonfeed-schema": check_jsonfeed_schema,
}
