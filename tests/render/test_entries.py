"""Entry fragments as real readers read them: one article, three formats, the same story.

Each fragment is spliced into a real document (the renderers' own document
heads) and read back with feedparser and lxml: what a subscriber sees is the
test, not the bytes we meant to write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc.models import Article, Event, Image, Provider, RelatedLink, Topic
from feedsvc.render.common import FeedOptions, Page
from feedsvc.render.entries import dump_json, image_media_type
from feedsvc.render.formats import feed_formats, render_entries

OPTIONS = FeedOptions("https://feeds.test", "Test Site", "Testing.", "en", 50)
TOPICS = {"privacy": Topic("privacy", "Privacy & data")}
WHEN = datetime(2021, 4, 18, 10, 20, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def article(**changes) -> Article:
    values = {
        "id": "tag:feedsvc.test,2026:articles/a", "stem": "a", "source": "a.md", "title": "Title",
        "summary": "Summary.", "content_html": "", "published": WHEN, "updated": WHEN,
        "original_url": "https://news.example/story", "self_published": False, "topic_names": (),
        "topics": ("privacy",), "provider": Provider("The Outlet", "outlet.example"),
        "image": Image("https://img.example/photo.jpg", 1280, 640),
        "related": (RelatedLink("Another story", "https://other.example/related", "Other"),),
    }
    values.update(changes)
    return Article(**values)


def documents(*articles: Article) -> dict[str, bytes]:
    fragments = render_entries(list(articles), TOPICS, OPTIONS)
    page = Page("all", 0, tuple(articles), 0)
    topic = Topic("all", "Test Site")
    return {f.name: f.document(topic, page, OPTIONS, [e[f.name] for e in fragments], WHEN)
            for f in feed_formats()}


def test_atom_entry_has_exactly_one_alternate_and_it_comes_first():
    atom = etree.fromstring(documents(article())["atom"])
    links = atom.find(f"{ATOM}entry").findall(f"{ATOM}link")
    assert [(link.get("rel"), link.get("href")) for link in links] == [
        ("alternate", "https://news.example/story"),
        ("related", "https://other.example/related"),
        ("enclosure", "https://img.example/photo.jpg"),
    ]
    assert links[0].get("type") == "text/html"
    assert links[1].get("title") == "Another story"


def test_feedparser_takes_the_article_link_in_every_xml_format():
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(documents(article())[fmt])
        assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
        assert parsed.entries[0].link == "https://news.example/story", fmt


@pytest.mark.parametrize("summary", [
    "Uses 5 < 6 and 7 > 3.", "R&D budgets", "A literal <script>alert(1)</script> in a summary",
    "Quotes \"like\" 'these' & ampersands &amp; entities",
])
def test_a_plain_text_summary_reads_the_same_in_all_three_formats(summary):
    docs = documents(article(summary=summary))
    rss = feedparser.parse(docs["rss"]).entries[0]
    atom = feedparser.parse(docs["atom"]).entries[0]
    item = json.loads(docs["json"])["items"][0]
    # Readers treat RSS <description> as HTML: what it shows is the HTML-decoded text.
    rss_description = etree.fromstring(docs["rss"]).findtext("channel/item/description")
    shown = etree.fromstring(f"<p>{rss_description}</p>".encode()).text if "<" not in rss_description \
        else None
    assert shown == summary
    assert atom.summary == summary and atom.summary_detail.type == "text/plain"
    assert item["summary"] == summary
    assert rss.summary  # feedparser reads it too (as escaped HTML)


def test_image_is_an_rss_enclosure_and_media_content_without_a_group():
    rss = etree.fromstring(documents(article())["rss"])
    item = rss.find("channel/item")
    enclosure = item.find("enclosure")
    assert enclosure.attrib == {"url": "https://img.example/photo.jpg", "length": "0",
                                "type": "image/jpeg"}
    media = "{http://search.yahoo.com/mrss/}"
    assert item.find(f"{media}group") is None
    assert item.find(f"{media}content").get("url") == "https://img.example/photo.jpg"
    assert item.find(f"{media}thumbnail").get("width") == "1280"
    parsed = feedparser.parse(documents(article())["rss"]).entries[0]
    assert parsed.enclosures[0].href == "https://img.example/photo.jpg"
    assert json.loads(documents(article())["json"])["items"][0]["image"] == \
        "https://img.example/photo.jpg"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://img.example/a.PNG", "image/png"),
    ("https://cdn.example/image/neural?fit=1280&url=https%3A%2F%2Fx.example%2Fhappy.jpg", "image/jpeg"),
    ("https://cdn.example/i.webp?w=300", "image/webp"),
    ("https://cdn.example/render?id=7", "image/jpeg"),
])
def test_image_media_type(url, expected):
    assert image_media_type(url) == expected


def test_article_without_image_has_no_enclosure():
    docs = documents(article(image=None))
    assert etree.fromstring(docs["rss"]).find("channel/item/enclosure") is None
    assert "image" not in json.loads(docs["json"])["items"][0]


def test_related_coverage_and_event_show_in_the_content_with_the_summary_first():
    event = Event(datetime(2021, 5, 12, 8, tzinfo=UTC),
                  datetime(2021, 5, 14, 18, tzinfo=UTC), "Online")
    docs = documents(article(event=event, summary="An event <worth> attending."))
    content = feedparser.parse(docs["atom"]).entries[0].content[0].value
    assert content.index("An event &lt;worth&gt; attending.") < content.index("Event:")
    assert "12 May 2021 to 14 May 2021, Online" in content
    assert '<a href="https://other.example/related">Another story</a> (Other)' in content
    extension = json.loads(docs["json"])["items"][0]["_feedsvc"]
    assert extension["event"] == {"start": "2021-05-12T08:00:00+00:00",
                                  "end": "2021-05-14T18:00:00+00:00", "location": "Online"}


def test_author_and_categories_in_every_format():
    docs = documents(article())
    rss = feedparser.parse(docs["rss"]).entries[0]
    atom = feedparser.parse(docs["atom"]).entries[0]
    item = json.loads(docs["json"])["items"][0]
    assert rss.author == atom.author == item["authors"][0]["name"] == "The Outlet"
    assert [t.term for t in atom.tags] == ["privacy"] and atom.tags[0].label == "Privacy & data"
    assert rss.tags[0].term == "Privacy & data"
    assert item["tags"] == ["Privacy & data"]


def test_feed_heads_carry_icon_and_logo():
    docs = documents(article())
    rss = feedparser.parse(docs["rss"]).feed
    atom = feedparser.parse(docs["atom"]).feed
    head = json.loads(docs["json"])
    assert rss.image.href == "https://feeds.test/logo.png"
    assert (rss.image.width, rss.image.height) == (144, 72)
    assert atom.icon == "https://feeds.test/icon.png"
    assert atom.logo == "https://feeds.test/logo.png"
    assert head["icon"] == "https://feeds.test/icon.png"
    assert head["favicon"] == "https://feeds.test/favicon.ico"


def test_forbidden_characters_never_reach_the_xml():
    docs = documents(article(title="Bell\x07 and \ufffe", summary="x\x1b y"))
    for fmt in ("rss", "atom"):
        etree.fromstring(docs[fmt])  # raises on any XML-forbidden character


def test_the_lead_image_opens_the_content_once():
    docs = documents(article(content_html=""))
    from lxml import html

    content = feedparser.parse(docs["atom"]).entries[0].content[0].value
    first, second = html.fragments_fromstring(content)[:2]
    assert first.get("class") == "lead-image"
    assert first[0].attrib == {"src": "https://img.example/photo.jpg", "alt": "Title",
                               "width": "1280", "height": "640"}
    assert second.text_content() == "Summary."
    shown = '<p><img src="https://img.example/photo.jpg" alt="x"></p>'
    item = json.loads(documents(article(content_html=shown))["json"])["items"][0]
    assert item["content_html"].count("https://img.example/photo.jpg") == 1


_JSON_TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # any string but lone surrogates
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | _JSON_TEXT,
    lambda children: st.lists(children) | st.dictionaries(_JSON_TEXT, children),
    max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(_JSON_VALUES)
def test_dump_json_writes_the_standard_librarys_bytes_with_markup_escaped(value):
    """dump_json (orjson) against the reference it replaced: the standard library's
    compact JSON, UTF-8, with <, > and & as \\u escapes."""
    reference = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    reference = reference.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    assert dump_json(value) == reference.encode("utf-8")


@settings(max_examples=500)
@given(st.text(alphabet=st.one_of(st.sampled_from("&<>\"' ab\x00\x0b\ufffe\u2028é"), st.characters()),
               max_size=30))
def test_xml_text_and_attributes_are_escaped_as_html_escape_does_after_cleaning(value):
    """The skip for values with nothing to escape changes no byte: the same as escaping
    every value, once the characters XML forbids are taken out."""
    from html import escape

    from feedsvc.content.markup import XML_FORBIDDEN
    from feedsvc.render.entries import xml_attr, xml_text

    clean = XML_FORBIDDEN.sub("", value)
    assert xml_text(value) == escape(clean, quote=False)
    assert xml_attr(value) == escape(clean, quote=True)
