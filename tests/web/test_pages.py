"""HTML pages: feed autodiscovery that works, and escaped hostile text."""

from __future__ import annotations

import pytest
from lxml import html


def discovery_links(body: bytes) -> list[tuple[str, str]]:
    tree = html.document_fromstring(body)
    return [(link.get("type"), link.get("href")) for link in tree.xpath("//head/link[@rel='alternate']")]


@pytest.mark.parametrize("url", ["/", "/topics/privacy", "/topics/regulation",
                                 "/articles/2026-11-16-reading-the-eu-ai-act-timeline"])
def test_autodiscovery_links_return_their_feeds(client, url):
    page = client.get(url)
    links = discovery_links(page.data)
    assert links
    for media_type, href in links:
        assert href.startswith("https://feeds.test/feeds/")
        feed = client.get(href.removeprefix("https://feeds.test"))
        assert feed.status_code == 200, href
        assert feed.headers["Content-Type"].split(";")[0] == media_type


def test_index_lists_every_topic_with_counts_and_feeds(client):
    tree = html.document_fromstring(client.get("/").data)
    rows = tree.xpath("//table[@class='topics']/tbody/tr")
    assert len(rows) == 13
    privacy = next(r for r in rows if r.xpath("td[1]/a/text()") == ["Privacy and data protection"])
    assert privacy.xpath("td[2]/text()") == ["5"]  # see test_documents.test_api
    assert privacy.xpath("td[1]/span[@class='short-feeds']/a/@href") == [
        f"https://feeds.test/feeds/privacy.{f}" for f in ("rss", "atom", "json")]
    assert tree.xpath("//a[@class='feed-url']/text()")[0] == "https://feeds.test/feeds/all.rss"
    assert set(tree.xpath("//a[@download]/@href")) == {
        "https://feeds.test/feeds.opml",
        *(f"https://feeds.test/topics/{r.xpath('.//input/@value')[0]}.opml" for r in rows)}
    assert [b.get("data-copy") for b in tree.xpath("//button[@data-copy]")][:3] == [
        "https://feeds.test/feeds/all.rss", "https://feeds.test/feeds/all.atom",
        "https://feeds.test/feeds/all.json"]


def test_hostile_titles_are_escaped(client, site_settings, publish):
    (site_settings.content_dir / "2026-11-21-hostile.md").write_text(
        '---\ntitle: "<script>alert(1)</script> & <b>bold</b>"\nurl: https://example.org/h\n'
        'summary: "<img src=x onerror=alert(2)>"\ntags: [Privacy]\n---\n')
    publish()
    for url in ("/", "/topics/privacy"):
        body = client.get(url).data
        assert b"<script>alert(1)" not in body and b"<img src=x" not in body
        assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body
