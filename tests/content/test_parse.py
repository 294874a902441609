"""Both article formats, field by field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.content import parse_article
from feedsvc.content.dates import DateParseError, parse_datetime

UTC = UTC


def parse(ctx, text: str, name: str = "2024-03-13-story.md"):
    return parse_article(name, text.encode(), ctx)


def test_upstream_schema(ctx):
    result = parse(ctx, """---
category: news
title: "Amazon Pauses Police Use"
excerpt: "A one-year   moratorium."
publishedDateTime: 2020-06-10T22:11:00Z
originalUrl: "https://www.nytimes.com/2020/06/10/technology/a.html"
webUrl: "https://www.nytimes.com/2020/06/10/technology/a.html"
type: article
quality: 91
heat: 801
published: true
provider:
  name: New York Times
  domain: nytimes.com
topics:
  - Facial recognition
  - AI
images:
  - url: "https://static01.nyt.com/a.jpg"
    width: 1050
    height: 549
    isCached: true
related:
  - title: "Loopholes"
    publishedDateTime: 2020-06-11T03:45:00Z
    webUrl: "https://techcrunch.com/2020/06/10/x/"
    provider:
      name: TechCrunch
---
""")
    assert result.problems == ()
    a = result.article
    assert a.title == "Amazon Pauses Police Use"
    assert a.summary == "A one-year moratorium."
    assert a.published == datetime(2020, 6, 10, 22, 11, tzinfo=UTC)
    assert a.updated == a.published
    assert a.original_url == "https://www.nytimes.com/2020/06/10/technology/a.html"
    assert not a.self_published
    assert a.provider.name == "New York Times" and a.provider.url == "https://nytimes.com/"
    assert a.topic_names == ("Facial recognition", "AI")
    assert (a.image.url, a.image.width, a.image.height) == ("https://static01.nyt.com/a.jpg", 1050, 549)
    assert [(r.title, r.url, r.provider) for r in a.related] == [
        ("Loopholes", "https://techcrunch.com/2020/06/10/x/", "TechCrunch")]
    assert (a.kind, a.quality) == ("article", 91)  # `heat` is upstream's, and unused
    assert a.id == "tag:feedsvc.test,2026:articles/2024-03-13-story"


def test_native_spelling(ctx):
    a = parse(ctx, """---
title: Native
date: 2024-03-13T10:00:00+02:00
updated: 2024-03-14
url: https://example.org/n
summary: Short.
tags: [Privacy, Regulation]
id: urn:uuid:1234
source: The Outlet
image: https://example.org/i.png
---
Body with [a link](/about) and <script>alert(1)</script>.
""").article
    assert a.id == "urn:uuid:1234"
    assert a.published == datetime(2024, 3, 13, 8, 0, tzinfo=UTC)
    assert a.updated == datetime(2024, 3, 14, tzinfo=UTC)
    assert a.topic_names == ("Privacy", "Regulation")
    assert a.provider.name == "The Outlet" and a.provider.domain is None
    assert a.image.url == "https://example.org/i.png"
    assert '<a href="https://feeds.test/about"' in a.content_html
    assert "<script" not in a.content_html


def test_timestamps_and_sexagesimal_stay_as_written(ctx):
    a = parse(ctx, "---\ntitle: 10:00\ndate: 2024-03-13\nurl: https://e.org/x\nsummary: 1:30\n---\n").article
    assert a.title == "10:00" and a.summary == "1:30"


def test_plain_text_article(ctx):
    result = parse(ctx, """# Why we check links

News links rot, so we check them.

Photo: Jane Doe/Agency

First paragraph of the body.
""", "2026-11-02-why.txt")
    a = result.article
    assert result.problems == ()
    assert a.title == "Why we check links"
    assert a.summary == "News links rot, so we check them."
    assert a.self_published and a.original_url is None
    assert a.published == datetime(2026, 11, 2, tzinfo=UTC)
    assert "Jane Doe" not in a.content_html  # a photo credit is page clutter
    assert "<p>First paragraph of the body.</p>" in a.content_html
    assert "News links rot" not in a.content_html


def test_credit_line_before_standfirst_is_not_the_standfirst(ctx):
    a = parse(ctx, "Title\nImage credit: Someone\nThe real standfirst.\n\nBody.\n", "2026-01-01-c.md").article
    assert a.summary == "The real standfirst."
    assert "Image credit: Someone" not in a.content_html
    assert a.content_html == "<p>Body.</p>"


def test_date_from_filename_when_front_matter_has_none(ctx):
    a = parse(ctx, "---\ntitle: T\nurl: https://e.org/x\n---\n", "2021-06-15-t.md").article
    assert a.published == datetime(2021, 6, 15, tzinfo=UTC)


def test_crlf_files_parse_like_lf(ctx):
    lf = parse(ctx, "---\ntitle: T\ndate: 2024-01-01\nurl: https://e.org/x\n---\nBody\n").article
    crlf = parse(ctx, "---\r\ntitle: T\r\ndate: 2024-01-01\r\nurl: https://e.org/x\r\n---\r\nBody\r\n").article
    assert (lf.title, lf.published, lf.content_html) == (crlf.title, crlf.published, crlf.content_html)


@pytest.mark.parametrize(("text", "expected"), [
    ("2020-04-06T10:26:00Z", datetime(2020, 4, 6, 10, 26, tzinfo=UTC)),
    ("2020-07-12T08:00:00-08:00", datetime(2020, 7, 12, 16, 0, tzinfo=UTC)),
    ("2020-07-12T08:00:00-0800", datetime(2020, 7, 12, 16, 0, tzinfo=UTC)),
    ("2020-07-12T08:00:00+05", datetime(2020, 7, 12, 3, 0, tzinfo=UTC)),
    ("2019-09-20T01:21:27.250Z", datetime(2019, 9, 20, 1, 21, 27, 250000, tzinfo=UTC)),
    ("2021-04-18 10:00:00 +00:00", datetime(2021, 4, 18, 10, 0, tzinfo=UTC)),
    ("2021-04-18", datetime(2021, 4, 18, tzinfo=UTC)),
    ("20210418T100000Z", datetime(2021, 4, 18, 10, 0, tzinfo=UTC)),
    ("Sun, 18 Apr 2021 10:00:00 +0200", datetime(2021, 4, 18, 8, 0, tzinfo=UTC)),
])
def test_iso_8601_variants(text, expected):
    moment, naive = parse_datetime(text)
    assert moment == expected and moment.tzinfo == UTC and not naive


def test_naive_datetime_is_flagged():
    assert parse_datetime("2021-04-18T10:00:00") == (datetime(2021, 4, 18, 10, tzinfo=UTC), True)


@pytest.mark.parametrize("text", ["", "yesterday", "2021-02-30", "2021-04-18T25:00:00Z"])
def test_bad_dates(text):
    with pytest.raises(DateParseError):
        parse_datetime(text)


@pytest.mark.parametrize(("written", "published"), [
    ("https://zeitung.example/überwachung", "https://zeitung.example/%C3%BCberwachung"),
    ("https://bücher.example/x?q=ü", "https://xn--bcher-kva.example/x?q=%C3%BC"),
    ("https://x.example/already%20encoded", "https://x.example/already%20encoded"),
])
def test_non_ascii_urls_are_published_as_uris(ctx, written, published):
    """RSS, Atom and JSON Feed carry URIs: an IRI in front matter is encoded once, at load."""
    a = parse(ctx, f"---\ntitle: T\ndate: 2024-01-01\nurl: {written}\n---\n").article
    assert a.original_url == published


# --- URLs that resolve in every reader ------------------------------------------------

def test_wordpress_escaping_in_front_matter_urls_is_decoded_once_and_told(ctx):
    result = parse(ctx, """---
title: Escaped
date: 2024-03-13T10:00:00Z
url: "https://news.example/a?x=1&#038;y=2"
images:
  - url: "https://cdn.example/openai.jpg?w=1200&#038;strip=all"
related:
  - url: "https://news.example/b?p=1&amp;q=2&#x26;r=3"
    title: B
---
Body.
""")
    a = result.article
    assert a.original_url == "https://news.example/a?x=1&y=2"
    assert a.image.url == "https://cdn.example/openai.jpg?w=1200&strip=all"
    assert a.related[0].url == "https://news.example/b?p=1&q=2&r=3"
    told = [(p.line, p.severity) for p in result.problems if "references decoded" in p.reason]
    assert told == [(4, "info"), (5, "info"), (7, "info")]  # url, images, related


@pytest.mark.parametrize(("written", "published"), [
    ("https://news.example/a?a=1&copy=2", "https://news.example/a?a=1&copy=2"),   # a query, not ©
    ("https://news.example/a?x=1&amp;#038;y=2", "https://news.example/a?x=1&#038;y=2"),  # once
    ("https://news.example", "https://news.example/"),                            # empty path
    ("https://news.example?q=1", "https://news.example/?q=1"),
])
def test_front_matter_urls_are_published_as_meant(ctx, written, published):
    result = parse(ctx, f"---\ntitle: T\ndate: 2024-03-13T10:00:00Z\nurl: \"{written}\"\n---\nBody.\n")
    assert result.article.original_url == published


def test_relative_urls_in_bodies_resolve_against_the_articles_own_page(ctx):
    result = parse(ctx, """---
title: Relative
date: 2024-03-13T10:00:00Z
url: https://news.example/a
---
![a chart](images/chart.png) and [notes](notes/x.html), [about](/about),
[a topic](../topics/privacy), [a section](#why) and [mail](mailto:e@news.example).

<img src="https://cdn.example/a.png" srcset="small.png 1x, /big.png 2x, javascript:alert(1) 3x">
""", name="2024-03-13-story.md")
    html = result.article.content_html
    page = "https://feeds.test/articles/2024-03-13-story"
    assert 'src="https://feeds.test/articles/images/chart.png"' in html
    assert 'href="https://feeds.test/articles/notes/x.html"' in html
    assert 'href="https://feeds.test/about"' in html
    assert 'href="https://feeds.test/topics/privacy"' in html
    assert f'href="{page}#why"' in html
    assert 'href="mailto:e@news.example"' in html
    assert 'srcset="https://feeds.test/articles/small.png 1x, https://feeds.test/big.png 2x"' in html
    assert "javascript" not in html
    broken = sorted((p.line, p.reason.split(" resolves")[0]) for p in result.problems
                    if p.severity == "warning")
    # the chart, the notes, /about and both images point at nothing the site publishes;
    # the topic page and the article's own page (its fragment) it does
    assert broken == [(6, "the relative URL '/about' in the body"),
                      (6, "the relative URL 'images/chart.png' in the body"),
                      (6, "the relative URL 'notes/x.html' in the body"),
                      (9, "the relative URL '/big.png' in the body"),
                      (9, "the relative URL 'small.png' in the body")], result.problems


def test_a_plain_text_article_resolves_its_relative_urls_too(ctx):
    result = parse(ctx, "A title\n\nA standfirst.\n\n![chart](chart.png)\n", name="2024-03-13-own.txt")
    assert 'src="https://feeds.test/articles/chart.png"' in result.article.content_html
    assert [p.line for p in result.problems if "relative URL" in p.reason] == [5]


def _checked(check, value):
    try:
        return "ok", check(value)
    except ValueError as exc:
        return "error", str(exc)


URL_PIECES = ["http", "https", "HTTPS", "ftp", "://", ":", "/", "//", "a", "b.c", "-", ".", "9",
              "0", "65535", "99999", "@", "?", "#", "&", "&amp;", "&#038;", "[", "]", "::1", " ",
              "\t", "%20", "é", "\\", "x", "~", "'", '"', "<", "=", ""]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(URL_PIECES), max_size=9).map("".join))
def test_the_shortcut_for_plain_urls_gives_what_checking_in_full_gives(text):
    """`check_url` returns plain URLs as they are without splitting them: on any text it
    must answer what the full check answers (the same URL, or the same error)."""
    from feedsvc.content.parse import check_url, check_url_in_full

    assert _checked(check_url, text) == _checked(check_url_in_full, text)


URL_SHAPED = st.builds(
    lambda *parts: "".join(parts),
    st.sampled_from(["https", "http", "HTTP", "ftp", "", "https:"]), st.sampled_from(["://", ":/", "//"]),
    st.sampled_from(["a", "a.b", "-a", "a-", "a..b", "é.org", "[::1]", "u@h", "", "a b"]),
    st.sampled_from(["", ":", ":0", ":80", ":9999", ":65535", ":65536", ":99999", ":x"]),
    st.sampled_from(["/", "/", ""]),
    st.lists(st.sampled_from(["/", "x", "&", "&amp;", "&#038;", " ", "\t", "%41", "é", "?q=1", "#f",
                              "[", "\\", "'", "~"]), max_size=3).map("".join))


@settings(max_examples=3000, deadline=None)
@given(URL_SHAPED)
def test_the_shortcut_agrees_on_url_shaped_text(text):
    from feedsvc.content.parse import check_url, check_url_in_full

    assert _checked(check_url, text) == _checked(check_url_in_full, text)


@pytest.mark.parametrize("text", [
    "https://a/&amp;x", "https://a/x&#038;y", "https://a/ x", "https://a/x\t", "https://a:99999/",
    "https://a:65536/", "ftp://a/", "https://a", "https://-a/", "https://u@a/", "https://é.org/",
    "https://a/é", " https://a/", "https://[::1]/", "HTTPS://A/",
])
def test_the_shortcut_agrees_on_the_urls_near_its_edges(text):
    from feedsvc.content.parse import check_url, check_url_in_full

    assert _checked(check_url, text) == _checked(check_url_in_full, text)


@pytest.mark.parametrize("url", [
    "https://example.org/", "http://a.b:8080/x?y=1#z", "https://host/pa'th~!$%*+,;=:@()",
    "https://x-y.z/[1]", "https://h:0/", "https://a..b/",
])
def test_plain_urls_take_the_shortcut_and_come_back_as_written(url):
    from feedsvc.content import parse

    assert parse._PLAIN_URL.fullmatch(url) and parse.check_url(url) == url == parse.check_url_in_full(url)
