"""Every document route and every HTTP caching rule, through the test client."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest

FEEDS = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/feeds/privacy.rss",
         "/feeds/regulation.atom", "/feeds/regulation.json", "/feeds/all/archive/1.atom",
         "/feeds/regulation/archive/1.rss"]
MEDIA = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8",
         "json": "application/feed+json; charset=utf-8"}


@pytest.mark.parametrize("url", FEEDS)
def test_feed_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == MEDIA[url.rsplit(".", 1)[1]]
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    # Full archive pages (all but the newest of a feed) never change: see below.
    if "/archive/" not in url:
        assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    links = response.headers.getlist("Link")
    assert f'<https://feeds.test{url}>; rel="self"' in links
    assert ('<https://hub.example/>; rel="hub"' in links) == ("/archive/" not in url)
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_full_archive_pages_are_immutable_and_the_newest_is_not(client):
    from lxml import etree

    feed = etree.fromstring(client.get("/feeds/all.atom").data)
    newest = feed.xpath("//*[local-name()='link'][@rel='prev-archive']/@href")[0]
    number = int(newest.rsplit("/", 1)[1].split(".")[0])
    assert number >= 2  # the bundled content fills several pages of five
    assert client.get(f"/feeds/all/archive/{number}.atom").headers["Cache-Control"] == \
        "public, max-age=300"
    for page in range(1, number):
        assert client.get(f"/feeds/all/archive/{page}.atom").headers["Cache-Control"] == \
            "public, max-age=2592000, immutable"


def test_last_modified_is_when_the_bytes_changed_not_the_newest_entry(client, publish,
                                                                      site_settings):
    before = datetime.now(UTC).replace(microsecond=0)
    first = client.get("/feeds/all.atom")
    modified = parsedate_to_datetime(first.headers["Last-Modified"])
    assert b"<updated>2026-11-16T00:00:00+00:00</updated>" in first.data  # newest entry
    assert modified <= before and modified.year == before.year  # the publish, moments ago
    assert publish(force=True).published  # same bytes: Last-Modified must not move
    assert client.get("/feeds/all.atom").headers["Last-Modified"] == first.headers["Last-Modified"]
    # Back-date a correction: no entry date gets newer, but the bytes change.
    target = site_settings.content_dir / "2016-05-23-machine-bias.md"
    target.write_text(target.read_text().replace('"Machine Bias"', '"Machine Bias (corrected)"'))
    assert publish().published
    again = client.get("/feeds/all/archive/1.atom")
    assert parsedate_to_datetime(again.headers["Last-Modified"]) > modified
    stale = client.get("/feeds/all/archive/1.atom",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert stale.status_code == 200 and b"Machine Bias (corrected)" in stale.data


def test_other_documents_have_their_media_types(client):
    assert client.get("/feeds.opml").headers["Content-Type"] == "text/x-opml; charset=utf-8"
    assert client.get("/").headers["Content-Type"] == "text/html; charset=utf-8"
    assert client.get("/topics/privacy").headers["Content-Type"] == "text/html; charset=utf-8"
    assert client.get("/api/topics").headers["Content-Type"] == "application/json; charset=utf-8"
    page = client.get("/articles/2026-11-02-why-we-check-every-link")
    assert page.status_code == 200 and b"Why we check every link we publish" in page.data


def test_if_none_match(client):
    first = client.get("/feeds/privacy.rss")
    etag = first.headers["ETag"]
    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = client.get("/feeds/privacy.rss", headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "public, max-age=300"
        assert again.headers["Vary"] == "Accept-Encoding"
    assert client.get("/feeds/privacy.rss", headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_none_match_wins_over_if_modified_since(client):
    first = client.get("/feeds/privacy.rss")
    response = client.get("/feeds/privacy.rss", headers={
        "If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 200
    response = client.get("/feeds/privacy.rss", headers={
        "If-None-Match": first.headers["ETag"],
        "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert response.status_code == 304


def test_if_modified_since_edge_cases(client):
    modified = parsedate_to_datetime(client.get("/feeds/privacy.rss").headers["Last-Modified"])

    def status(value: str) -> int:
        return client.get("/feeds/privacy.rss", headers={"If-Modified-Since": value}).status_code

    assert status(format_datetime(modified, usegmt=True)) == 304          # equal
    later = datetime.now(UTC)  # not before the publish, not in the future
    assert status(format_datetime(later, usegmt=True)) == 304
    assert status(format_datetime(modified - timedelta(seconds=1), usegmt=True)) == 200
    assert status("Sunday, 06-Nov-94 08:49:37 GMT") == 200                 # RFC 850, older
    assert status("not a date") == 200                                     # malformed: ignored
    assert status("") == 200
    future = datetime.now(UTC) + timedelta(days=400)
    assert status(format_datetime(future, usegmt=True)) == 200             # future: ignored


def test_gzip_when_accepted(client):
    plain = client.get("/feeds/all.atom")
    packed = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert packed.headers["Vary"] == "Accept-Encoding"
    revalidated = client.get("/feeds/all.atom", headers={
        "Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert revalidated.status_code == 304
    for header in ("gzip;q=0", "identity", "br", ";;;garbage,,", "gzip;q=nonsense"):
        response = client.get("/feeds/all.atom", headers={"Accept-Encoding": header})
        assert response.status_code == 200 and "Content-Encoding" not in response.headers, header
        assert response.data == plain.data
    star = client.get("/feeds/all.atom", headers={"Accept-Encoding": "*"})
    assert star.headers["Content-Encoding"] == "gzip"


def test_head_has_headers_and_no_body(client):
    get = client.get("/feeds/all.rss")
    head = client.head("/feeds/all.rss")
    assert head.status_code == 200 and head.data == b""
    for name in ("ETag", "Last-Modified", "Content-Type", "Content-Length", "Cache-Control"):
        assert head.headers[name] == get.headers[name]
    assert client.head("/feeds/all.rss", headers={"If-None-Match": get.headers["ETag"]}).status_code == 304


def test_range_requests_get_the_whole_document(client):
    response = client.get("/feeds/all.rss", headers={"Range": "bytes=0-10"})
    assert response.status_code == 200 and len(response.data) > 11


def test_unknown_topic_is_a_helpful_404(client):
    response = client.get("/feeds/no-such-topic.rss")
    assert response.status_code == 404
    assert response.json["error"] == "not found"
    assert "privacy" in response.json["topics"]
    page = client.get("/topics/no-such-topic", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.content_type == "text/html; charset=utf-8"
    assert b'href="https://feeds.test/topics/privacy"' in page.data
    assert client.get("/feeds/privacy.xml").status_code == 404
    assert client.get("/feeds/all/archive/999.rss").status_code == 404
    assert client.get("/feeds/all/archive/0.rss").status_code == 404


@pytest.mark.parametrize("url", [
    "/feeds/../store.sqlite3", "/feeds/%2e%2e/%2e%2e/etc/passwd", "/feeds/..%2f..%2fetc%2fpasswd.rss",
    "/feeds/all.rss/..", "/articles/..%2F..%2Fsettings", "/topics/PRIVACY", "/feeds/a%00b.rss",
    "/feeds/privacy.rss%00.html", "/api/topics/../../etc/articles",
])
def test_no_path_traversal(client, url):
    assert client.get(url).status_code == 404


def test_methods_other_than_get_and_head(client):
    response = client.post("/feeds/all.rss")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    assert client.delete("/").status_code == 405


def test_api(client):
    topics = client.get("/api/topics").json["topics"]
    privacy = next(t for t in topics if t["slug"] == "privacy")
    # The five bundled articles that name privacy or use one of its keywords
    # (privacy, personal data, data protection, gdpr) anywhere in their text.
    assert privacy["articles"] == 5
    assert privacy["feeds"]["atom"] == "https://feeds.test/feeds/privacy.atom"
    regulation = client.get("/api/topics/regulation/articles")
    first = regulation.json
    assert len(first["items"]) == 5 and first["next_url"].endswith("/feeds/regulation/archive/2.json")
    older = client.get("/api/topics/regulation/articles?page=2").json
    assert older["items"] and not {i["id"] for i in older["items"]} & {i["id"] for i in first["items"]}
    assert client.get("/api/topics/regulation/articles?page=-1").status_code == 400
    assert client.get("/api/topics/regulation/articles?page=abc").status_code == 400
    assert client.get("/api/topics/regulation/articles?page=99").status_code == 404


def test_health_readiness_and_status(client):
    assert client.get("/healthz").data == b"ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["ready"] and ready.json["generation"] == 1
    assert ready.json["age_seconds"] >= 0
    status = client.get("/status").json
    assert status["last_build"]["articles"] == 35 and status["last_build"]["errors"] == 0
    assert status["last_build"]["status"] == "published"


def test_status_lists_every_content_error(client, site_settings, publish):
    (site_settings.content_dir / "broken.md").write_text("---\ntitle: [oops\n---\n")
    publish()
    problems = client.get("/status").json["last_build"]["problems"]
    assert [p["path"] for p in problems if p["severity"] == "error"] == ["broken.md"]
    assert client.get("/feeds/all.rss").status_code == 200


def test_nothing_published_yet(tmp_path, settings_for):
    from feedsvc.web import create_app

    settings = settings_for(tmp_path / "content")
    client = create_app({"FEEDSVC_SETTINGS": settings}).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    response = client.get("/feeds/all.rss")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


def test_a_new_generation_is_picked_up(client, site_settings, publish):
    before = client.get("/feeds/privacy.rss")
    (site_settings.content_dir / "2026-11-20-new.md").write_text(
        "---\ntitle: A new privacy story\nurl: https://example.org/new\ntags: [Privacy]\n---\n")
    publish()
    after = client.get("/feeds/privacy.rss")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert b"A new privacy story" in after.data
    assert client.get("/feeds/privacy.rss",
                      headers={"If-None-Match": before.headers["ETag"]}).status_code == 200


def test_store_outage_serves_memory_and_stays_ready(client, app, monkeypatch):
    body = client.get("/feeds/all.rss").data
    from feedsvc.store import engine_for

    store = app.extensions["feedsvc"].store
    # A real outage: the store's engine now points at a database that cannot be opened.
    monkeypatch.setattr(store, "engine", engine_for(f"sqlite:////nonexistent-{id(store)}/s.db"))
    response = client.get("/feeds/all.rss")
    assert response.status_code == 200 and response.data == body
    ready = client.get("/readyz")  # it can serve: ready; the store's state is told apart
    assert ready.status_code == 200 and ready.json["ready"]
    assert "the store is unavailable: unable to open database file" in ready.json["store"]
    store_health = client.get("/healthz/store")
    assert store_health.status_code == 503 and "unable to open" in store_health.json["store"]
    monkeypatch.undo()
    assert client.get("/healthz/store").status_code == 200
    assert client.get("/readyz").json["store"] == "ok"


def test_concurrent_first_requests_all_succeed(site_settings, publish):
    import threading

    from feedsvc.web import create_app

    publish()
    client_app = create_app({"FEEDSVC_SETTINGS": site_settings})
    codes: list[int] = []

    def hit() -> None:
        client = client_app.test_client()
        codes.extend(client.get("/feeds/privacy.rss").status_code for _ in range(20))

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 240


def test_json_error_bodies_are_json(client):
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404 and json.loads(response.data)["error"] == "not found"


def test_bodies_of_replaced_generations_are_not_kept(client, app, site_settings, publish):
    cache = app.extensions["feedsvc"].cache
    client.get("/feeds/privacy.rss")
    old = {key[0] for key in cache._bodies}
    (site_settings.content_dir / "2026-11-20-new.md").write_text(
        "---\ntitle: Another privacy story\nurl: https://example.org/new2\ntags: [Privacy]\n---\n")
    publish()
    client.get("/feeds/privacy.rss")
    live = {doc.blob_hash for doc in cache.index.documents.values()}
    assert {key[0] for key in cache._bodies} <= live
    assert old - live  # the old privacy feed body was dropped


def test_a_pruned_body_is_answered_from_the_current_generation(client, app, site_settings, publish):
    from sqlalchemy import delete

    from feedsvc.store import blobs, documents

    client.get("/feeds/privacy.rss")
    cache = app.extensions["feedsvc"].cache
    cache.check_interval = 3600  # this process keeps its (soon stale) index
    stale = cache.index.documents["feeds/privacy.rss"]
    (site_settings.content_dir / "2026-11-20-new.md").write_text(
        "---\ntitle: Newer privacy story\nurl: https://example.org/newer\ntags: [Privacy]\n---\n")
    publish()
    with app.extensions["feedsvc"].store.engine.begin() as conn:  # pruned meanwhile
        conn.execute(delete(documents).where(documents.c.blob_hash == stale.blob_hash))
        conn.execute(delete(blobs).where(blobs.c.hash == stale.blob_hash))
    cache._bodies.clear()
    response = client.get("/feeds/privacy.rss")
    assert response.status_code == 200 and b"Newer privacy story" in response.data
    assert response.headers["ETag"] != f'"{stale.etag}"'
