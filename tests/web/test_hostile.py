"""Hostile and broken requests: each gets a clean 4xx (or a harmless 200), never a 500."""

from __future__ import annotations

import pytest

from feedsvc.web import create_app

TRAVERSAL = [
    "/feeds/../../etc/passwd", "/feeds/%2e%2e/%2e%2e/etc/passwd", "/feeds/%2E%2E%2Fstore.sqlite3.rss",
    "/feeds/..%5c..%5cwindows%5cwin.ini.rss", "/feeds\\..\\..\\etc\\passwd", "/topics/..%2f..%2f",
    "/articles/..%2F..%2Finstance%2Fstore.sqlite3", "/articles/%00", "/feeds/all%00.rss",
    "/feeds/all.rss%00", "/api/topics/%2e%2e/articles", "/feeds/./all.rss", "/articles/a%00b",
    "/articles/%01%02", "/articles/x%7f", "/articles/%25", "/articles/_",
]


@pytest.mark.parametrize("url", TRAVERSAL)
def test_path_traversal_and_encoded_variants(client, url):
    response = client.get(url)
    assert response.status_code in (400, 404), (url, response.status_code)
    assert b"root:" not in response.data and b"SQLite format" not in response.data


def test_doubled_slashes_redirect_to_the_canonical_feed(client):
    response = client.get("/feeds//all.rss")
    assert response.status_code == 308
    assert response.headers["Location"] == "https://feeds.test/feeds/all.rss"  # FEEDSVC_BASE_URL


@pytest.mark.parametrize("url", ["/feeds/" + "a" * 5000 + ".rss", "/feeds/all.rss?" + "x=1&" * 2000,
                                 "/topics/" + "b" * 3000])
def test_over_long_urls(client, url):
    response = client.get(url)
    assert response.status_code == 414 and response.json["error"] == "uri too long"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "FOO"])
def test_unknown_methods(client, method):
    response = client.open("/feeds/all.rss", method=method)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"] and "HEAD" in response.headers["Allow"]


@pytest.mark.parametrize("headers", [
    {"If-None-Match": '"unterminated'}, {"If-None-Match": "W/"}, {"If-None-Match": ",,,"},
    {"If-None-Match": "\x00\x01"}, {"If-Modified-Since": "yesterday"},
    {"If-Modified-Since": "Mon, 32 Foo 99999 99:99:99 GMT"}, {"If-Modified-Since": "9" * 500},
    {"If-None-Match": '"nope"', "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    {"If-Match": '"x"', "If-Unmodified-Since": "garbage"}, {"Range": "bytes=9999999-"},
    {"Range": "bytes=-1,0-0,5-2"}, {"Range": "lines=1-2"}, {"If-Range": '"x"', "Range": "bytes=0-1"},
    {"Accept-Encoding": "gzip;q=2, *;q=-1, br;;"}, {"Accept-Encoding": "\xff\xfe"},
    {"Accept": "*/*;q=nan"}, {"Accept-Encoding": "x" * 4000},
])
def test_malformed_and_contradictory_headers(client, headers):
    response = client.get("/feeds/all.rss", headers=headers)
    assert response.status_code in (200, 304)
    if response.status_code == 200:
        assert response.data.startswith(b"<?xml") or response.headers.get("Content-Encoding") == "gzip"


@pytest.mark.parametrize("topic", ["<script>alert(1)</script>", "a%0d%0aSet-Cookie:%20x=1",
                                   "a%0aLocation:%20http://evil.test", '"><img src=x onerror=alert(1)>',
                                   "%3Csvg%20onload%3Dalert(1)%3E"])
def test_markup_and_crlf_in_topic_names(client, topic):
    for url in (f"/feeds/{topic}.rss", f"/topics/{topic}", f"/api/topics/{topic}/articles"):
        for accept in ("text/html", "application/json"):
            response = client.get(url, headers={"Accept": accept})
            assert response.status_code == 404
            assert "Set-Cookie" not in response.headers and "Location" not in response.headers
            assert b"<script>alert" not in response.data and b"onerror=" not in response.data
            assert b"<svg" not in response.data.lower()


def test_rate_limiting_answers_429_and_rewards_revalidation(site_settings, publish):
    publish()
    # 6 a minute: the bucket barely refills while the test runs, so counts are exact.
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(rate_limit=6.0, rate_limit_burst=5.0)})
    downloader = app.test_client()
    statuses = [downloader.get("/feeds/all.rss", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code
                for _ in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    limited = downloader.get("/feeds/all.rss", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert int(limited.headers["Retry-After"]) in (1, 2) and limited.json["error"] == "too many requests"
    poller = app.test_client()
    etag = poller.get("/feeds/all.rss", environ_base={"REMOTE_ADDR": "10.0.0.2"}).headers["ETag"]
    revalidated = [poller.get("/feeds/all.rss", headers={"If-None-Match": etag},
                              environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code for _ in range(30)]
    assert revalidated == [304] * 30  # 30 conditional polls cost 3 tokens of the 4 left
    assert downloader.get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_rate_limiting_is_off_by_default(client):
    assert all(client.get("/feeds/all.rss").status_code == 200 for _ in range(100))


def test_forwarded_for_is_ignored_unless_trusted(site_settings, publish):
    publish()
    app = create_app({"FEEDSVC_SETTINGS": site_settings.replace(rate_limit=6.0, rate_limit_burst=2.0)})
    client = app.test_client()
    spoofed = [client.get("/feeds/all.rss", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
               for n in range(4)]
    assert spoofed == [200, 200, 429, 429]
    trusting = create_app({"FEEDSVC_SETTINGS": site_settings.replace(
        rate_limit=6.0, rate_limit_burst=2.0, trust_proxy=1)}).test_client()
    # One trusted hop: the right-most entry is the address our proxy saw.
    assert [trusting.get("/feeds/all.rss",
                         headers={"X-Forwarded-For": f"198.51.100.7, 203.0.113.{n}"}).status_code
            for n in range(4)] == [200] * 4
    # A forged left-most entry changes nothing: the client behind 203.0.113.9 has one bucket.
    assert [trusting.get("/feeds/all.rss",
                         headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.9"}).status_code
            for n in range(4)] == [200, 200, 429, 429]
