"""Text clean-up shared by both article formats: XML-safe characters, safe HTML."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import nh3
from markdown_it import MarkdownIt

from feedsvc.content.errors import ContentError

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
_limits = threading.local()


class MarkdownTooCostly(ContentError):
    """Rendering this body would cost more than one file may (size or time)."""


@contextmanager
def markdown_limits(max_chars: int, budget_s: float) -> Iterator[None]:
    """Bound the Markdown work of every body rendered in this thread, inside the block.

    markdown-it is pure Python and some inputs (a long run of `[` or `![`) cost
    about 15 microseconds a character: a 1 MB body took 18 s. The size limit
    is deterministic; the time budget is a backstop for shapes nobody has
    measured yet, checked between parser rules, so it stops a body within a
    few milliseconds of the budget.
    """
    saved = getattr(_limits, "value", None)
    _limits.value = (max_chars, budget_s)
    try:
        yield
    finally:
        _limits.value = saved


def _check_deadline(*_args: object) -> bool:
    deadline = getattr(_limits, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        _limits.deadline = None
        raise MarkdownTooCostly(f"the Markdown body took over {_limits.value[1]:g} s to render "
                                "(FEEDSVC_MARKDOWN_BUDGET); simplify or shorten it")
    return False


# Consulted before every block rule (once a line) and every inline rule (once a token).
_markdown.block.ruler.before("table", "feedsvc_deadline", _check_deadline,
                               {"alt": ["paragraph", "reference", "blockquote", "list"]})
_markdown.inline.ruler.before("text", "feedsvc_deadline", _check_deadline)


def _render_within_limits(markdown: str) -> str:
    limits = getattr(_limits, "value", None)
    html: str
    if limits is None:
        html = _markdown.render(markdown)
        return html
    max_chars, budget_s = limits
    if len(markdown) > max_chars:
        raise MarkdownTooCostly(f"the Markdown body is {len(markdown):,} characters, over the "
                                f"limit of {max_chars:,} (FEEDSVC_MAX_BODY_SIZE)")
    _limits.deadline = time.monotonic() + budget_s
    try:
        html = _markdown.render(markdown)
    finally:
        _limits.deadline = None
    return html


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
    html = _render_within_limits(XML_FORBIDDEN.sub("", markdown))
    safe = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    return _RELATIVE_URL.sub(rf"\1{base_url}/", safe).strip()
