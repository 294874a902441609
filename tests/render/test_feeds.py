"""Feeds as readers see them: parsed with feedparser and lxml, validated, compared."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

import feedparser
import jsonschema
import pytest
from lxml import etree

from feedsvc.build import Builder
from feedsvc.store import Store
from tests.conftest import CONTENT, DATA

NS = {"atom": "http://www.w3.org/2005/Atom", "fh": "http://purl.org/syndication/history/1.0"}
SCHEMA = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text())


def publish(settings) -> dict[str, bytes]:
    store = Store(settings.database_url)
    store.create()
    report = Builder(settings, store).build()
    assert report.published
    docs = store.documents(store.current_generation())
    bodies = dict(store.bodies(d.blob_hash for d in docs))
    return {d.path: bodies[d.blob_hash] for d in docs}


def feed_ids(path: str, body: bytes) -> list[str]:
    if path.endswith(".json"):
        return [item["id"] for item in json.loads(body)["items"]]
    root = etree.fromstring(body)
    if path.endswith(".rss"):
        return root.xpath("/rss/channel/item/guid/text()")
    return root.xpath("/atom:feed/atom:entry/atom:id/text()", namespaces=NS)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks all check out (CRC, a decodable IDAT)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, idat = 8, [], b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        payload = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        chunks.append(kind)
        idat += payload if kind == b"IDAT" else b""
        offset += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    width, height = struct.unpack(">II", data[16:24])
    assert len(zlib.decompress(idat)) == height * (1 + 4 * width)  # RGBA rows + filter bytes
    return width, height


def check_image(path: str, body: bytes) -> None:
    import struct

    if path.endswith(".png"):
        width, height = png_size(body)
        assert (width, height) in {(144, 144), (144, 72)}, path
        return
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1) and count >= 1
    for number in range(count):
        size, _, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", body[6 + 16 * number:22 + 16 * number])
        assert png_size(body[offset:offset + length]) == (size or 256, size or 256)


def check_document(path: str, body: bytes) -> None:
    if path.startswith("api/"):
        assert isinstance(json.loads(body), dict)
        return
    if path.endswith(".html"):
        from lxml import html

        assert html.document_fromstring(body).find("body") is not None
        return
    if path.endswith((".png", ".ico")):
        check_image(path, body)
        return
    if path.endswith((".svg", ".xsl")):
        root = etree.fromstring(body)
        assert root.tag in ("{http://www.w3.org/2000/svg}svg", "{http://www.w3.org/1999/XSL/Transform}stylesheet")
        return
    if path.endswith(".json"):
        # feedparser 6.0 (the released line) has no JSON Feed support: the
        # JSON Schema written from the 1.1 spec is the check there.
        doc = json.loads(body)
        jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert doc["feed_url"].endswith("/" + path)
        return
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    if path.endswith(".opml"):
        return
    root = etree.fromstring(body)
    if path.endswith(".rss"):
        self_links = root.xpath("/rss/channel/atom:link[@rel='self']/@href", namespaces=NS)
        for item in root.xpath("/rss/channel/item"):
            guid = item.find("guid")
            assert guid is not None and guid.get("isPermaLink") == "false" and guid.text
            assert parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None
            assert item.findtext("link").startswith(("http://", "https://"))
    else:
        self_links = root.xpath("/atom:feed/atom:link[@rel='self']/@href", namespaces=NS)
        for element in [root, *root.xpath("atom:entry", namespaces=NS)]:
            for child in ("id", "title", "updated"):
                assert element.find(f"atom:{child}", NS) is not None, (path, child)
    assert len(self_links) == 1 and self_links[0].endswith("/" + path)


@pytest.fixture(scope="module")
def content_site(tmp_path_factory):
    from feedsvc.settings import load_settings

    tmp = tmp_path_factory.mktemp("site")
    settings = load_settings(env={}, content_dir=CONTENT, database_url=f"sqlite:///{tmp}/s.db",
                             cache_dir=tmp / "cache", feed_size=10, build_workers=1)
    return publish(settings)


def test_every_document_of_the_bundled_content_is_valid(content_site):
    assert "feeds.opml" in content_site and "feeds/all/archive/1.atom" in content_site
    for path, body in content_site.items():
        check_document(path, body)


def test_three_formats_carry_the_same_items_in_the_same_order(content_site):
    stems = {path.rsplit(".", 1)[0] for path in content_site if path.startswith("feeds/")}
    for stem in stems:
        rss, atom, jsn = (feed_ids(f"{stem}.{e}", content_site[f"{stem}.{e}"])
                          for e in ("rss", "atom", "json"))
        assert rss == atom == jsn and len(set(rss)) == len(rss), stem


def test_feed_date_is_the_newest_entry_date(content_site):
    root = etree.fromstring(content_site["feeds/regulation.atom"])
    entry_dates = root.xpath("atom:entry/atom:updated/text()", namespaces=NS)
    assert root.findtext("atom:updated", namespaces=NS) == max(entry_dates)
    rss = etree.fromstring(content_site["feeds/regulation.rss"])
    assert parsedate_to_datetime(rss.findtext("channel/lastBuildDate")) == max(
        parsedate_to_datetime(d) for d in rss.xpath("channel/item/pubDate/text()"))


def test_categories_authors_and_self_published_links(content_site):
    entries = [e for path, body in content_site.items()
               if path.startswith("feeds/all") and path.endswith(".atom")
               for e in etree.fromstring(body).xpath("atom:entry", namespaces=NS)]
    entry = next(e for e in entries if "amazon-pauses-police" in e.findtext("atom:id", namespaces=NS))
    terms = entry.xpath("atom:category/@term", namespaces=NS)
    # Named topics and those its keywords match ("moratorium"), in taxonomy order.
    assert terms == ["facial-recognition", "regulation", "criminal-justice"]
    assert entry.xpath("atom:category/@label", namespaces=NS) == [
        "Facial recognition", "Regulation and policy", "Policing and criminal justice"]
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "The New York Times"
    own = next(e for e in entries if "why-we-check-every-link" in e.findtext("atom:id", namespaces=NS))
    assert own.find("atom:link", NS).get("href") == "http://localhost:8000/articles/2026-11-02-why-we-check-every-link"
    assert own.find("atom:content", NS).get("type") == "html"


def test_feeds_point_browsers_at_the_stylesheet(content_site):
    for path in ("feeds/all.rss", "feeds/privacy.atom", "feeds/all/archive/1.rss"):
        body = content_site[path]
        assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n"
                               b'<?xml-stylesheet type="text/xsl" href="http://localhost:8000/feed.xsl"?>')
    assert b"<?xml-stylesheet" not in content_site["feeds/all.json"]
    transform = etree.XSLT(etree.fromstring(content_site["feed.xsl"]))
    for path in ("feeds/all.rss", "feeds/privacy.atom"):
        page = str(transform(etree.fromstring(content_site[path])))
        assert "To subscribe, copy this address" in page
        assert "http://localhost:8000/" + path in page
        first_title = feedparser.parse(content_site[path]).entries[0].title
        assert first_title.split(":")[0] in page


def test_opml_lists_every_topic_feed(content_site):
    root = etree.fromstring(content_site["feeds.opml"])
    urls = root.xpath("/opml/body/outline/@xmlUrl")
    feeds = sorted(p for p in content_site if p.endswith(".rss") and "/archive/" not in p)
    assert sorted(u.split("8000/")[1] for u in urls) == feeds


@pytest.mark.corpus
def test_every_document_of_the_upstream_corpus_is_valid(corpus_dir, settings_for):
    site = publish(settings_for(corpus_dir, feed_size=20))
    assert len(site) > 60
    for path, body in site.items():
        check_document(path, body)
        if path.startswith("feeds/"):
            stem = path.rsplit(".", 1)[0]
            assert feed_ids(path, body) == feed_ids(f"{stem}.atom", site[f"{stem}.atom"])


def article_file(n: int, title: str = "", summary: str = "", topic: str = "Privacy") -> str:
    return (f"---\ntitle: {json.dumps(title or f'Story {n}', ensure_ascii=False)}\n"
            f"date: 2024-01-{n:02d}T10:00:00Z\n"
            f"url: https://news.example/{n}\n"
            f"summary: {json.dumps(summary or f'Summary {n}.', ensure_ascii=False)}\n"
            f"topics: [{topic}]\n---\n")


def test_archives_hold_every_older_item_exactly_once(write, settings_for):
    size = 4
    for n in range(1, 3 * size + 2):
        write(f"story-{n:02d}.md", article_file(n))
    site = publish(settings_for(write.root, feed_size=size))
    for fmt in ("atom", "rss", "json"):
        current = site[f"feeds/privacy.{fmt}"]
        seen = feed_ids(f"x.{fmt}", current)
        assert len(seen) == size
        pages = []
        link = _prev_archive(current, fmt)
        while link:
            path = link.removeprefix("https://feeds.test/")
            pages.append(path)
            body = site[path]
            seen += feed_ids(path, body)
            if fmt != "json":
                assert etree.fromstring(body).xpath("//fh:archive", namespaces=NS)
            link = _prev_archive(body, fmt)
        assert pages == [f"feeds/privacy/archive/{n}.{fmt}" for n in (3, 2, 1)]
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 3 * size + 1


def _prev_archive(body: bytes, fmt: str) -> str | None:
    if fmt == "json":
        return json.loads(body).get("next_url")
    found = etree.fromstring(body).xpath("//atom:link[@rel='prev-archive']/@href", namespaces=NS)
    return found[0] if found else None


HOSTILE = [
    ("Bell\x07 and ]]> end", "cdata ]]> breaker"),
    ("<script>alert('x')</script>", "<img src=x onerror=alert(1)>"),
    ("Entities &amp; &lt;b&gt; &#x27; &nbsp;", "AT&T and 1 < 2 > 0"),
    ("\u202eRight-to-left override\u200f", "\u0645\u0631\u062d\u0628\u0627 \u200f"),
    ("Emoji 🤖🧑🏽‍⚖️ and astral 𝔘", "zero width\u200b joiner\u200d"),
]


def test_hostile_text_gives_valid_safe_feeds(write, settings_for):
    for n, (title, summary) in enumerate(HOSTILE, start=1):
        write(f"hostile-{n}.md", article_file(n, title, summary).replace("\x07", "\x07"))
    write("hostile-body.md", article_file(9) + "<script>alert(1)</script><b onclick='x()'>bold</b>\n")
    site = publish(settings_for(write.root))
    for path, body in site.items():
        check_document(path, body)
        # Pages carry our own small script; no document carries the articles' scripts.
        assert b"<script>alert" not in body and b"<img src=x" not in body
        if not path.endswith(".html"):
            assert b"<script" not in body
        if not path.endswith((".json", ".png", ".ico")):  # text documents only
            assert b"\x07" not in body
    titles = feedparser.parse(site["feeds/all.atom"]).entries
    by_title = {e.title for e in titles}
    assert "Bell and ]]> end" in by_title
    assert "<script>alert('x')</script>" in by_title
    assert "\u202eRight-to-left override\u200f" in by_title
    assert "Emoji 🤖🧑🏽‍⚖️ and astral 𝔘" in by_title
    items = {i["title"]: i for i in json.loads(site["feeds/all.json"])["items"]}
    assert "<script>alert('x')</script>" in items
    body_html = items["Story 9"]["content_html"]
    assert "<b>bold</b>" in body_html and "onclick" not in body_html and "<script" not in body_html
