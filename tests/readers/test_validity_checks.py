"""Each feed check catches what it is meant to catch (so a green run means something)."""

from __future__ import annotations

import pytest

from tests.readers import validity
from tests.readers.site import Document

URL = "http://127.0.0.1:1/feeds/t.atom"
RSS_URL = "http://127.0.0.1:1/feeds/t.rss"
HEADERS = {"content-type": "application/atom+xml; charset=utf-8",
           "last-modified": "Tue, 15 Jun 2021 09:00:00 GMT"}


def atom(entry: str, head: str = f'<link rel="self" href="{URL}"/>') -> Document:
    body = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            f'xmlns:media="http://search.yahoo.com/mrss/"><id>{URL}</id><title>t</title>'
            f'<updated>2021-06-15T09:00:00Z</updated><author><name>a</name></author>{head}'
            f'<entry><id>tag:x,2026:articles/a</id><title>a</title><updated>2021-06-15T09:00:00Z</updated>'
            f'{entry}</entry></feed>')
    return Document(URL, "atom", "subscription", 200, HEADERS, body.encode())


def rss(item: str, channel: str = f'<atom:link rel="self" href="{RSS_URL}"/>') -> Document:
    body = (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
            f'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>'
            f'<link>http://127.0.0.1:1/</link><description>d</description>{channel}'
            f'<item><title>a</title><guid isPermaLink="false">tag:x,2026:articles/a</guid>{item}</item>'
            f'</channel></rss>')
    return Document(RSS_URL, "rss", "subscription", 200, {**HEADERS, "content-type": "application/rss+xml"},
                    body.encode())


GOOD_ATOM = atom('<link rel="alternate" type="text/html" href="https://example.org/a"/>'
                 '<link rel="related" type="text/html" href="https://example.org/b"/>')
GOOD_RSS = rss("<link>https://example.org/a</link><description>R&amp;amp;D &amp;lt; 5</description>"
               "<pubDate>Tue, 15 Jun 2021 09:00:00 +0000</pubDate>")


@pytest.mark.parametrize("check", list(validity.CHECKS))
def test_a_good_document_passes(check):
    assert validity.CHECKS[check](GOOD_ATOM) == []
    assert validity.CHECKS[check](GOOD_RSS) == []


@pytest.mark.parametrize(("check", "doc", "needle"), [
    ("atom-rfc4287-relaxng", atom("<published>15 June 2021</published>"), "published"),
    ("atom-rfc4287-schematron", atom('<link href="https://example.org/a"/><link href="https://example.org/b"/>'),
     "DuplicateAtomLink"),
    ("atom-rfc4287-schematron", atom(""), "no atom:content and no rel=alternate"),
    ("media-group", atom('<link href="https://example.org/a"/><media:group>'
                         '<media:content url="https://example.org/i.jpg"/></media:group>'), "media:group"),
    ("rss-description-html", rss("<description>R&amp;D</description>"), "unescaped '&'"),
    ("rss-description-html", rss("<description>5 &lt; 6</description>"), "unescaped '<'"),
    ("rss-dates-rfc822", rss("<pubDate>2021-06-15T09:00:00Z</pubDate>"), "not RFC 822"),
    ("absolute-urls", atom('<link href="/articles/a"/>'), "/articles/a"),
    ("absolute-urls", rss("<link>articles/a</link>"), "articles/a"),
    ("self-link", atom('<link href="https://example.org/a"/>', head=""), 'rel="self"'),
    ("self-link", rss("", channel=""), 'rel="self"'),
    ("no-1970",
     atom('<link href="https://example.org/a"/><published>1970-01-01T00:00:00Z</published>'), "1970"),
    ("no-1970", Document(URL, "atom", "subscription", 200, {**HEADERS, "last-modified":
                                                            "Thu, 01 Jan 1970 00:00:00 GMT"}, GOOD_ATOM.body),
     "Last-Modified"),
    ("jsonfeed-schema", Document(URL, "json", "subscription", 200, HEADERS, b'{"version": 1}'), "version"),
])
def test_a_bad_document_is_caught(check, doc, needle):
    problems = validity.CHECKS[check](doc)
    assert any(needle in p for p in problems), problems
