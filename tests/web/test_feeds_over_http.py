"""Feeds opened by browsers and by readers, through the real `feedsvc web`, over real HTTP."""

from __future__ import annotations

import feedparser
import httpx
import pytest

from tests.readers.clients import newsboat_available, read_feedparser, read_newsboat
from tests.web.test_fastpath import CHROMIUM_ACCEPT, FEEDPARSER_ACCEPT, NAVIGATION, VARY
from tests.web.test_server import web_server  # noqa: F401 - the fixture

# A reader that sends a browser's Accept would be redirected: these are what readers send.
READERS = {"feedparser": FEEDPARSER_ACCEPT, "libcurl (newsboat, curl)": "*/*",
           "NetNewsWire-like": "application/rss+xml, application/atom+xml, application/feed+json, "
                               "application/json, text/xml, application/xml, text/html;q=0.9"}


def test_a_browser_accept_is_redirected_and_readers_get_bytes(web_server):  # noqa: F811
    with httpx.Client(base_url=web_server, trust_env=False) as http:
        browser = http.get("/feeds/privacy.atom", headers={"Accept": CHROMIUM_ACCEPT, **NAVIGATION})
        assert browser.status_code == 303
        assert browser.headers["location"] == "https://feeds.test/topics/privacy"
        assert browser.headers.get_list("vary") == VARY
        for name, accept in READERS.items():
            reader = http.get("/feeds/privacy.atom", headers={"Accept": accept, "Accept-Encoding": "gzip"})
            assert reader.status_code == 200, name
            assert reader.headers["content-encoding"] == "gzip"
            assert reader.content.startswith(b"<?xml"), name
            assert reader.headers.get_list("vary") == VARY
            again = http.get("/feeds/privacy.atom", headers={"Accept": accept, "Accept-Encoding": "gzip",
                                                             "If-None-Match": reader.headers["etag"]})
            assert again.status_code == 304, name


def test_feedparser_reads_and_revalidates_over_http(web_server):  # noqa: F811
    url = f"{web_server}/feeds/privacy.rss"
    read = read_feedparser(url, "rss")
    assert read.error is None and len(read.items) == 5
    first = feedparser.parse(url)
    assert first.status == 200 and first.etag
    again = feedparser.parse(url, etag=first.etag)
    assert again.status == 304 and not again.entries


@pytest.mark.skipif(newsboat_available() is None, reason="newsboat is not installed")
def test_newsboat_reads_the_feed_not_the_page(web_server, tmp_path):  # noqa: F811
    for fmt in ("rss", "atom"):
        read = read_newsboat(f"{web_server}/feeds/privacy.{fmt}", fmt, tmp_path / fmt)
        assert read.error is None and len(read.items) == 5, read.error
