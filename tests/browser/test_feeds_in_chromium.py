"""A feed URL opened in Chromium lands on the topic's page; a reader's fetch still gets the feed."""

from __future__ import annotations

import pytest

from tests.browser.conftest import new_tab, screenshot


@pytest.fixture
def tab(browser, site):
    context, page = new_tab(browser, site)  # outside addresses answered here, never fetched
    yield page
    context.close()


@pytest.mark.parametrize(("feed", "page_path", "heading"), [
    ("/feeds/privacy.rss", "/topics/privacy", "Privacy"),
    ("/feeds/regulation.atom", "/topics/regulation", "Regulation"),
    ("/feeds/privacy.json", "/topics/privacy", "Privacy"),
    ("/feeds/all.rss", "/", None),
])
def test_opening_a_feed_shows_its_topic_page(tab, site, feed, page_path, heading):
    response = tab.goto(feed)
    assert response is not None and response.ok
    assert tab.url == f"{site}{page_path}"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.url == f"{site}{feed}"
    assert redirect.response() is not None and redirect.response().status == 303
    if heading:
        assert heading in tab.locator("h1").first.inner_text()
    # The page offers the very feed that was opened, to copy into a reader.
    assert tab.locator(f'link[rel=alternate][href="{site}{feed}"]').count() == 1
    screenshot(tab, f"feed-opened-in-browser-{feed.strip('/').replace('/', '-')}")


def test_a_fetch_that_asks_for_the_feed_gets_the_feed(tab, site):
    tab.goto("/topics/privacy")
    response = tab.request.get(f"{site}/feeds/privacy.atom",
                               headers={"Accept": "application/atom+xml, */*;q=0.1"})
    assert response.status == 200 and response.body().startswith(b"<?xml")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
