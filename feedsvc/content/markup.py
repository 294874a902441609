"""Text clean-up shared by both article formats: XML-safe characters, safe HTML."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

# Characters XML 1.0 does not allow at all (C0 controls but tab, CR, LF; the
# two non-characters U+FFFE and U+FFFF). A single one makes a feed unparseable.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS)
_ALLOWED_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "img": {"src", "alt", "title", "width", "height"},
    "a": {"href", "title", "hreflang"},
    "p": {"class"},
}
_RELATIVE_URL = re.compile(r'(\s(?:href|src)=")/(?!/)')
_SPACE = re.compile(r"\s+")


def strip_forbidden(text: str) -> tuple[str, int]:
    """Remove XML-forbidden characters; return the text and how many were removed."""
    cleaned, count = XML_FORBIDDEN.subn("", text)
    return cleaned, count


def first_forbidden_line(text: str) -> int | None:
    match = XML_FORBIDDEN.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def one_line(text: str) -> str:
    """Collapse runs of white space; titles and summaries are single paragraphs.

    Forbidden characters are removed here too: YAML escapes such as "\\u0007"
    create them after the raw file text was cleaned.
    """
    return _SPACE.sub(" ", XML_FORBIDDEN.sub("", text)).strip()


def markdown_to_safe_html(markdown: str, base_url: str) -> str:
    """Render Markdown (with inline HTML) and sanitise it for feeds and pages.

    Site-relative links are made absolute: a feed reader has no base to resolve
    them against.
    """
    if not markdown.strip():
        return ""
    html = _markdown.render(XML_FORBIDDEN.sub("", markdown))
    safe = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    return _RELATIVE_URL.sub(rf"\1{base_url}/", safe).strip()
