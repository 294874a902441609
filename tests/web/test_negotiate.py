"""Accept negotiation for feeds opened in a browser (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.web.serving.negotiate import is_navigation, parse_accept, prefers_html, quality

RSS, ATOM, JSONFEED = "application/rss+xml", "application/atom+xml", "application/feed+json"


def test_the_most_specific_range_decides():
    ranges = parse_accept("text/*;q=0.5, text/html;q=0, */*;q=0.9")
    assert quality(ranges, "text/html") == 0.0
    assert quality(ranges, "text/plain") == 0.5
    assert quality(ranges, RSS) == 0.9
    assert quality(parse_accept("application/json"), RSS) == 0.0


def test_malformed_ranges_are_ignored():
    assert parse_accept("text/html;q=abc, nonsense, */html, application/rss+xml;q=2, ;;,") == []
    assert parse_accept(" TEXT/HTML ; Q=0.8 ") == [("text", "html", 0.8)]


@pytest.mark.parametrize(("accept", "feed_type", "expected"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", RSS, True),   # Firefox
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSONFEED, True),
    ("text/html", ATOM, True),
    ("application/atom+xml,application/rdf+xml,application/rss+xml,application/xml;q=0.9,"
     "text/xml;q=0.2,*/*;q=0.1", ATOM, False),                                          # feedparser
    ("*/*", RSS, False),                                                                # curl, newsboat
    ("", RSS, False),
    (None, RSS, False),
    ("text/html, application/xml", RSS, False),            # XML as welcome as HTML: the feed
    ("text/html, application/json", JSONFEED, False),
    ("text/html, application/json", RSS, True),
    ("text/html;q=0.4, application/rss+xml;q=0.5", RSS, False),
    ("text/html;q=0, */*", RSS, False),
    ("application/xhtml+xml", RSS, True),
])
def test_prefers_html(accept, feed_type, expected):
    assert prefers_html(accept, feed_type) is expected


@given(st.text(max_size=200), st.sampled_from([RSS, ATOM, JSONFEED]))
def test_never_raises_and_a_reader_naming_the_feed_type_first_keeps_it(accept, feed_type):
    prefers_html(accept, feed_type)
    assert not prefers_html(f"{feed_type}, {accept}", feed_type)


def test_navigation_signals():
    assert is_navigation("document", None) and is_navigation(" Document ", "0")
    assert not is_navigation("empty", "1")  # fetch() from a page: Fetch Metadata decides
    assert is_navigation(None, "1")          # a browser too old for Fetch Metadata
    assert not is_navigation(None, None) and not is_navigation(None, "0")
