"""The WSGI answer table: the same answers as the Flask views, the browser redirect, freshness."""

from __future__ import annotations

import gzip
from email.utils import format_datetime

import pytest
from werkzeug.test import Client

from feedsvc.web import create_app
from feedsvc.web.serving.table import AnswerTable
from tests.test_clock import wait_until

CHROMIUM_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                   "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
FIREFOX_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FEEDPARSER_ACCEPT = ("application/atom+xml,application/rdf+xml,application/rss+xml,"
                     "application/x-netcdf,application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1")
READER_ACCEPTS = [None, "*/*", FEEDPARSER_ACCEPT, "application/rss+xml, */*",
                  "application/feed+json, application/json;q=0.9", "text/html;q=0.5, */*",
                  "application/rss+xml, application/atom+xml, application/feed+json, text/html",
                  "text/html;q=0, */*"]
VARY = ["Accept-Encoding", "Accept, Sec-Fetch-Dest, Upgrade-Insecure-Requests"]
NAVIGATION = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Upgrade-Insecure-Requests": "1"}
BROWSER_ACCEPTS = [CHROMIUM_ACCEPT, FIREFOX_ACCEPT, "text/html", "text/html, */*;q=0.5",
                   "TEXT/HTML;Q=1, application/rss+xml;q=0.4"]


def fast_path(app) -> AnswerTable:
    assert isinstance(app.wsgi_app, AnswerTable)
    return app.wsgi_app


@pytest.fixture
def flask_only(site_settings, publish):
    """The same app with the fast path taken out: the reference answers."""
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(web_check_interval=0), "TESTING": True})
    app.wsgi_app = fast_path(app).downstream
    return Client(app)


def document_urls(app) -> list[str]:
    documents = app.extensions["feedsvc"].cache.refresh().documents
    urls = []
    for path in documents:
        if path == "index.html":
            urls.append("/")
        elif path.startswith(("topics/", "articles/")) and path.endswith(".html"):
            urls.append("/" + path[: -len(".html")])
        elif path == "api/topics.json":
            urls.append("/api/topics")
        else:
            urls.append("/" + path)
    return urls


def test_the_table_is_in_front_of_the_app_that_is_served(app, client):
    response = client.get("/feeds/all.rss")
    assert response.status_code == 200
    assert "/feeds/all.rss" in fast_path(app)._current().entries


def test_a_request_hook_added_to_flask_runs_for_what_flask_answers(site_settings, publish):
    """No list of hook names: the table answers documents and calls the operations itself;
    a hook added later runs for everything Flask answers."""
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings})
    seen = []

    @app.after_request
    def count(response):
        seen.append(response.status_code)
        return response

    client = app.test_client()
    assert client.get("/feeds/all.rss").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert seen == [200]


def test_rate_limiting_applies_to_what_the_table_answers(site_settings, publish):
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(rate_limit=60, rate_limit_burst=2)})
    client = app.test_client()
    codes = [client.get("/feeds/all.rss").status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and 429 in codes
    assert "/feeds/all.rss" in fast_path(app)._current().entries


def headers_of(response) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() != "date")


CASES = [{}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip;q=0"}, {"Accept-Encoding": "*"},
         {"If-None-Match": "*"}, {"If-None-Match": '"nope"'}, {"If-Modified-Since": "not a date"}]


def test_every_document_answers_as_flask_does(app, client, flask_only):
    """Status, body and headers match the Flask views for every document and request shape
    (both answer through `answers.answer()`); feeds carry exactly one more Vary line,
    `Vary: Accept, ...`, on both paths."""
    urls = document_urls(app)
    assert len(urls) > 50 and "/feeds/all.rss" in urls and "/" in urls
    for url in urls:
        reference = flask_only.get(url)
        tag = reference.headers["ETag"]
        modified = reference.headers["Last-Modified"]
        cases = [*CASES, {"If-None-Match": tag}, {"If-None-Match": f"W/{tag}, \"x\""},
                 {"If-Modified-Since": modified}, {"Accept-Encoding": "gzip", "If-None-Match": tag}]
        for headers in cases:
            for method in ("GET", "HEAD"):
                want = flask_only.open(url, method=method, headers=headers)
                got = client.open(url, method=method, headers=headers)
                assert got.status_code == want.status_code, (url, method, headers)
                assert got.data == want.data, (url, method, headers)
                expected = headers_of(want)
                assert headers_of(got) == expected, (url, method, headers)
                feed = url.startswith("/feeds/") and not url.endswith(".opml")
                assert (("vary", VARY[1]) in expected) == feed, (url, method, headers)


def test_unknown_feeds_get_flasks_404_for_json_and_html(client, flask_only):
    for url in ("/feeds/no-such-topic.rss", "/feeds/all/archive/999.atom", "/topics/no-such-topic"):
        for accept in (None, "text/html", "application/json", "image/png"):
            headers = {"Accept": accept} if accept else {}
            for _ in range(2):  # the second one comes from the precomputed answer
                got, want = client.get(url, headers=headers), flask_only.get(url, headers=headers)
                assert got.status_code == want.status_code == 404
                assert got.data == want.data and headers_of(got) == headers_of(want)
    html = client.get("/topics/no-such-topic", headers={"Accept": "text/html"})
    assert html.content_type == "text/html; charset=utf-8" and b"/topics/privacy" in html.data
    assert client.get("/feeds/no-such-topic.rss").json["error"] == "not found"


def test_aliases_and_everything_else_still_reach_flask(client):
    assert client.get("/feeds/ai-regulation.rss").headers["Location"] == \
        "https://feeds.test/feeds/regulation.rss"
    assert client.get("/feeds//all.rss").status_code == 308
    assert client.get("/feed").status_code == 301
    assert client.post("/feeds/all.rss").status_code == 405
    assert client.get("/healthz").data == b"ok\n"
    assert client.get("/api/topics/regulation/articles?page=2").status_code == 200
    assert client.get("/feeds/all.rss?" + "x" * 3000).status_code == 414


def test_metrics_count_what_the_fast_path_answers(client):
    tag = client.get("/feeds/privacy.atom").headers["ETag"]
    client.get("/feeds/privacy.atom", headers={"If-None-Match": tag})
    client.get("/feeds/privacy.atom", headers={"Accept": CHROMIUM_ACCEPT, **NAVIGATION})
    client.get("/feeds/no-such-topic.rss")
    text = client.get("/metrics").data.decode()

    def count(route: str, status: int) -> int:
        for line in text.splitlines():
            if line.startswith("feedsvc_http_requests_total{") and f'route="{route}"' in line \
                    and f'status="{status}"' in line:
                return int(float(line.rsplit(" ", 1)[1]))  # prometheus-client writes 3.0
        return 0

    assert count("documents.feed", 200) >= 1 and count("documents.feed", 304) >= 1
    assert count("documents.feed", 303) >= 1 and count("documents.feed", 404) >= 1


def test_a_new_generation_is_never_answered_with_a_stale_304(site_settings, publish):
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(web_check_interval=0.05)})
    client = app.test_client()
    before = client.get("/feeds/privacy.rss")
    assert client.get("/feeds/privacy.rss",
                      headers={"If-None-Match": before.headers["ETag"]}).status_code == 304
    (site_settings.content_dir / "2026-11-20-new.md").write_text(
        "---\ntitle: A fresher privacy story\nurl: https://example.org/fresh\ntags: [Privacy]\n---\n")
    assert publish().published

    def changed():
        response = client.get("/feeds/privacy.rss", headers={"If-None-Match": before.headers["ETag"]})
        return response if response.status_code == 200 else None

    after = wait_until(changed, 30)
    assert after and b"A fresher privacy story" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    # From then on, never the old answer again.
    for _ in range(20):
        assert client.get("/feeds/privacy.rss",
                          headers={"If-None-Match": before.headers["ETag"]}).status_code == 200


# ------------------------------------------------------------ browsers opening feeds

@pytest.mark.parametrize("accept", BROWSER_ACCEPTS)
@pytest.mark.parametrize(("url", "page"), [("/feeds/privacy.rss", "https://feeds.test/topics/privacy"),
                                      ("/feeds/privacy.atom", "https://feeds.test/topics/privacy"),
                                      ("/feeds/privacy.json", "https://feeds.test/topics/privacy"),
                                      ("/feeds/all.rss", "https://feeds.test/"),
                                      ("/feeds/all/archive/1.atom", "https://feeds.test/")])
def test_a_browser_is_sent_to_the_topic_page(client, url, page, accept):
    navigations = [NAVIGATION, {"Sec-Fetch-Dest": "document"}, {"Upgrade-Insecure-Requests": "1"}]
    for method in ("GET", "HEAD"):
        for navigation in navigations:
            response = client.open(url, method=method, headers={"Accept": accept, **navigation})
            assert response.status_code == 303, (method, accept, navigation)
        assert response.headers["Location"] == page
        assert response.headers.getlist("Vary") == VARY
        assert response.headers["Cache-Control"] == "no-store"
        assert response.data == b""


@pytest.mark.parametrize("accept", READER_ACCEPTS)
def test_feed_readers_get_the_feed(client, accept):
    headers = {"Accept": accept, **NAVIGATION} if accept else {}
    for url in ("/feeds/privacy.rss", "/feeds/privacy.atom", "/feeds/all.json"):
        response = client.get(url, headers={**headers, "Accept-Encoding": "gzip"})
        assert response.status_code == 200, (url, accept)
        assert gzip.decompress(response.data).lstrip().startswith((b"<?xml", b"{"))
        assert response.headers.getlist("Vary") == VARY
        again = client.get(url, headers={**headers, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        assert again.headers.getlist("Vary") == VARY


@pytest.mark.parametrize("accept", BROWSER_ACCEPTS)
def test_a_browser_accept_without_a_navigation_gets_the_feed(client, accept):
    """Readers that send a browser's Accept, scripts asking for text/html, a page's fetch()."""
    for extra in ({}, {"Sec-Fetch-Dest": "empty", "Upgrade-Insecure-Requests": "1"},
                  {"Upgrade-Insecure-Requests": "0"}):
        response = client.get("/feeds/privacy.rss", headers={"Accept": accept, **extra})
        assert response.status_code == 200 and response.data.startswith(b"<?xml"), extra


def test_pages_are_not_redirected_and_do_not_vary_on_accept(client):
    for url in ("/", "/topics/privacy", "/feeds.opml", "/api/topics"):
        response = client.get(url, headers={"Accept": CHROMIUM_ACCEPT, **NAVIGATION})
        assert response.status_code == 200 and response.headers.getlist("Vary") == ["Accept-Encoding"]


def test_if_modified_since_on_the_fast_path(client):
    first = client.get("/feeds/privacy.rss")
    same = client.get("/feeds/privacy.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert same.status_code == 304
    from email.utils import parsedate_to_datetime
    older = parsedate_to_datetime(first.headers["Last-Modified"]).timestamp() - 1
    from datetime import UTC, datetime
    earlier = format_datetime(datetime.fromtimestamp(older, UTC), usegmt=True)
    assert client.get("/feeds/privacy.rss", headers={"If-Modified-Since": earlier}).status_code == 200
