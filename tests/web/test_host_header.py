"""Absolute URLs never come from the request: `Host` (and its friends) cannot redirect readers.

werkzeug answers `/feeds//all.rss` with a 308 built from the `Host` header; a
shared cache in front of the service could keep that answer and send every
later reader to the attacker's site. Each case here sends a hostile `Host`
and checks the status, the `Location` and the body. The same request over a
real server is in test_server.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import url_for

from feedsvc.web import create_app

EVIL = "evil.example"
HOSTILE_HEADERS = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "gopher",
                   "X-Forwarded-Prefix": "/evil", "Forwarded": f"host={EVIL};proto=http"}


def assert_clean(response) -> None:
    for name, value in response.headers.items():
        assert EVIL not in value and "/evil" not in value, (name, value)
    assert EVIL.encode() not in response.get_data()


@pytest.mark.parametrize(("path", "target"), [
    ("/feeds//all.rss", "https://feeds.test/feeds/all.rss"),
    ("/feeds///all.atom", "https://feeds.test/feeds/all.atom"),
    ("/feeds//privacy.json", "https://feeds.test/feeds/privacy.json"),
    ("/topics//privacy", "https://feeds.test/topics/privacy"),
    ("/api//topics", "https://feeds.test/api/topics"),
    ("/api/topics//privacy/articles?page=1", "https://feeds.test/api/topics/privacy/articles?page=1"),
    ("//", "https://feeds.test/"),
])
def test_routing_redirects_point_at_the_base_url(client, path, target):
    for method in ("GET", "HEAD"):
        response = client.open(path, method=method, headers=HOSTILE_HEADERS)
        assert response.status_code == 308, (path, response.status_code)
        assert response.headers["Location"] == target
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert_clean(response)


def test_the_redirect_target_is_the_document(client):
    location = client.get("/feeds//all.rss", headers={"Host": EVIL}).headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("https", "feeds.test")
    target = client.get(parts.path)
    assert target.status_code == 200 and target.data.startswith(b"<?xml")
    assert target.data == client.get("/feeds/all.rss").data


@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:443", f"{EVIL}/x?y=", "[::1]:1", "a b", ""])
def test_odd_host_headers_never_shape_a_location(client, host):
    response = client.get("/feeds//all.rss", headers={"Host": host})
    assert response.status_code in (308, 400)
    if response.status_code == 308:
        assert response.headers["Location"] == "https://feeds.test/feeds/all.rss"
    assert (host or "\0").encode() not in response.data


@pytest.mark.parametrize("path", ["/nope", "/feeds/nope.rss", "/topics/nope", "/articles/nope",
                                  "/feeds/all.rss/", "/status", "/links", "/openapi.json",
                                  "/api/topics", "/feeds/all.atom", "/feeds/all.json", "/",
                                  "/feeds.opml", "/api/links"])
def test_no_page_names_the_requested_host(client, path):
    for accept in ("text/html", "application/json"):
        response = client.get(path, headers={**HOSTILE_HEADERS, "Accept": accept})
        assert response.status_code in (200, 404), (path, response.status_code)
        assert_clean(response)
    page = client.get("/nope", headers={"Host": EVIL, "Accept": "text/html"})
    assert b"https://feeds.test/topics/privacy" in page.data  # topics listed, from the base URL


def test_url_for_external_uses_the_base_url(app):
    with app.test_request_context("/", headers={"Host": EVIL}, base_url=f"http://{EVIL}"):
        app.preprocess_request()
        assert url_for("documents.feed", slug="all", fmt="rss", _external=True) == \
            "https://feeds.test/feeds/all.rss"


def test_a_base_url_with_port_and_path_prefix(site_settings, publish):
    publish()
    settings = site_settings.replace(base_url="https://feeds.test:8443/news")
    client = create_app({"FEEDSVC_SETTINGS": settings, "FEEDSVC_CHECK_INTERVAL": 0}).test_client()
    response = client.get("/feeds//all.rss?x=1", headers={"Host": EVIL})
    assert response.headers["Location"] == "https://feeds.test:8443/news/feeds/all.rss?x=1"
    assert_clean(response)
