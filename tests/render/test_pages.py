"""The HTML side of a build: topic pages in pages, per-topic OPML, the search index,
subscribe links, the charts, and the pure helpers the live pages use."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree, html

from feedsvc.models import Topic
from feedsvc.render.charts import articles_per_month, link_status_over_time
from feedsvc.render.common import FeedOptions
from feedsvc.render.opml import chosen_topics, topics_from_api
from feedsvc.render.readers import reader_links
from feedsvc.render.status_page import render_status_page
from feedsvc.render.timefmt import human_date, human_datetime, parse_time, relative
from feedsvc.web.linkstate import checking_state
from tests.render.test_feeds import publish

OPTIONS = FeedOptions("https://feeds.test", "AI Ethics News", "News.", "en", 50)
START = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)


def story(n: int, topic: str = "Privacy", outlet: str = "") -> str:
    when = START + timedelta(days=n)
    provider = f"provider:\n  name: {outlet}\n" if outlet else ""
    return (f"---\ntitle: Story number {n:03d}\ndate: {when.isoformat()}\n"
            f"url: https://news.example/{n}\nsummary: Summary {n}.\ntopics: [{topic}]\n{provider}---\n")


@pytest.fixture
def big_site(write, settings_for):
    """120 articles in one topic (three HTML pages of 50), 5 in another."""
    for n in range(1, 121):
        write(f"story-{n:03d}.md", story(n, outlet="The Daily Example" if n == 7 else ""))
    for n in range(121, 126):
        write(f"other-{n:03d}.md", story(n, topic="Labour"))
    write("topics.yml", "topics:\n  - slug: privacy\n    title: Privacy\n"
          "  - slug: labour\n    title: Labour\n")
    return publish(settings_for(write.root))


def titles(body: bytes) -> list[str]:
    return html.fromstring(body).xpath("//ul[@id='articles']/li//h3/a/text()")


def test_topic_pages_list_every_article_once_in_order(big_site):
    pages = [big_site["topics/privacy.html"], big_site["topics/privacy/page/2.html"],
             big_site["topics/privacy/page/3.html"]]
    assert "topics/privacy/page/4.html" not in big_site
    listed = [t for body in pages for t in titles(body)]
    assert [len(titles(b)) for b in pages] == [50, 50, 20]
    assert listed == [f"Story number {n:03d}" for n in range(120, 0, -1)]
    assert "topics/labour/page/2.html" not in big_site and len(titles(big_site["topics/labour.html"])) == 5


def test_topic_pages_link_each_other_with_rel_prev_and_next(big_site):
    def rels(body: bytes) -> dict[str, set[str]]:
        tree = html.fromstring(body)
        return {rel: {*tree.xpath(f"//head/link[@rel='{rel}']/@href"),
                      *("head:" + h for h in tree.xpath(f"//head/link[@rel='{rel}']/@href"))} |
                {"body:" + h for h in tree.xpath(f"//nav//a[@rel='{rel}']/@href")}
                for rel in ("prev", "next")}

    first, second, last = (rels(big_site[p]) for p in (
        "topics/privacy.html", "topics/privacy/page/2.html", "topics/privacy/page/3.html"))
    assert first["prev"] == set()
    assert first["next"] == {"https://feeds.test/topics/privacy/page/2",
                             "head:https://feeds.test/topics/privacy/page/2",
                             "body:https://feeds.test/topics/privacy/page/2"}
    assert "https://feeds.test/topics/privacy" in second["prev"]
    assert "body:https://feeds.test/topics/privacy" in second["prev"]
    assert "https://feeds.test/topics/privacy/page/3" in second["next"]
    assert "https://feeds.test/topics/privacy/page/2" in last["prev"] and last["next"] == set()
    assert b"Page 2 of 3" in big_site["topics/privacy/page/2.html"]


def test_search_index_holds_every_article(big_site):
    index = json.loads(big_site["api/search.json"])
    assert index["fields"] == ["title", "url", "published", "outlet", "topics"]
    rows = index["articles"]
    assert len(rows) == 125
    assert rows[0][0] == "Story number 125" and rows[-1][0] == "Story number 001"
    seventh = next(r for r in rows if r[0] == "Story number 007")
    assert seventh == ["Story number 007", "https://news.example/7", "2023-01-08", "The Daily Example",
                       ["privacy"]]


def test_each_topic_has_its_own_opml(big_site):
    root = etree.fromstring(big_site["topics/privacy.opml"])
    outlines = root.xpath("//outline")
    assert [o.get("xmlUrl") for o in outlines] == ["https://feeds.test/feeds/privacy.rss"]
    assert outlines[0].get("count") == "120"
    assert root.findtext("head/title") == "AI Ethics News: Privacy"
    page = html.fromstring(big_site["topics/privacy.html"])
    assert page.xpath("//a[@href='https://feeds.test/topics/privacy.opml']")


def test_subscribe_blocks_offer_copy_buttons_and_readers(big_site):
    index = html.fromstring(big_site["index.html"])
    rows = index.xpath("//table[@class='topics']/tbody/tr")
    assert len(rows) == 2
    for row in rows:  # every topic card: readers, copy buttons, OPML, a checkbox for the chooser
        slug = row.xpath(".//input[@type='checkbox']/@value")[0]
        feed = f"https://feeds.test/feeds/{slug}.rss"
        hrefs = row.xpath(".//details//a/@href")
        assert f"feed:{feed}" in hrefs
        assert any(h.startswith("https://feedly.com/i/subscription/feed%2F") for h in hrefs)
        assert f"https://feeds.test/topics/{slug}.opml" in hrefs
        assert feed in row.xpath(".//button/@data-copy")
    form = index.xpath("//form[@data-opml]")[0]
    assert form.get("action") == "https://feeds.test/feeds.opml" and form.get("method") == "get"
    topic = html.fromstring(big_site["topics/labour.html"])
    assert topic.xpath("//button/@data-copy") == [f"https://feeds.test/feeds/labour.{f}"
                                                   for f in ("rss", "atom", "json")]


def test_pages_have_a_skip_link_and_the_title_once(big_site):
    for path in ("index.html", "topics/privacy.html", "topics/privacy/page/2.html"):
        tree = html.fromstring(big_site[path])
        assert tree.xpath("//body/a[1]/@href") == ["#main"] and tree.xpath("//main[@id='main']")
        visible = [t.strip() for t in tree.xpath("//body//text()[not(ancestor::script)]")]
        assert visible.count("AI Ethics News") == 1, path


def test_reader_links_use_each_readers_subscribe_address():
    feed = "https://feeds.test/feeds/privacy.rss?x=1&y=2"
    assert {r.name: r.url for r in reader_links(feed)} == {
        "Feedly": "https://feedly.com/i/subscription/feed%2Fhttps%3A%2F%2Ffeeds.test%2Ffeeds%2F"
                  "privacy.rss%3Fx%3D1%26y%3D2",
        "Inoreader": "https://www.inoreader.com/?add_feed=https%3A%2F%2Ffeeds.test%2Ffeeds%2F"
                     "privacy.rss%3Fx%3D1%26y%3D2",
        "NewsBlur": "https://www.newsblur.com/?url=https%3A%2F%2Ffeeds.test%2Ffeeds%2Fprivacy.rss"
                    "%3Fx%3D1%26y%3D2",
        "The Old Reader": "https://theoldreader.com/feeds/subscribe?url=https%3A%2F%2Ffeeds.test%2F"
                          "feeds%2Fprivacy.rss%3Fx%3D1%26y%3D2",
        "your feed app (feed: link)": "feed:https://feeds.test/feeds/privacy.rss?x=1&y=2",
    }


def test_chosen_topics_keep_the_published_order_and_ignore_unknown_names():
    api = {"topics": [{"slug": "all", "title": "All", "articles": 9},
                      {"slug": "bias", "title": "Bias", "description": "d", "articles": 4},
                      {"slug": "labour", "title": "Labour", "articles": 2}]}
    available = topics_from_api(api)
    chosen = chosen_topics(available, ["labour", "nope", "bias", "labour"])
    assert chosen == [(Topic("bias", "Bias", "d"), 4), (Topic("labour", "Labour", ""), 2)]


def test_heat_map_keeps_empty_months_whole_labels_and_a_legend():
    long_title = "Surveillance, policing and criminal justice systems"
    rows = [("a", long_title, date(2024, 1, 5)), ("a", long_title, date(2024, 1, 9)),
            ("b", "Bias", date(2024, 4, 2))]
    svg = articles_per_month(rows)
    root = etree.fromstring(svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    cells = [t.text for t in root.xpath("//s:rect/s:title", namespaces=ns)]
    assert [c for c in cells if c.startswith("Bias")] == [
        "Bias, 2024-01: 0 articles", "Bias, 2024-02: 0 articles", "Bias, 2024-03: 0 articles",
        "Bias, 2024-04: 1 article"]
    texts = root.xpath("//s:text/text()", namespaces=ns)
    assert long_title in texts  # whole, not cut at 28 characters
    assert "Articles a month:" in texts and "0" in texts and "2" in texts
    assert root.xpath("//s:rect[@width='100%']/@fill", namespaces=ns) == ["#ffffff"]  # its own background
    assert "fill-opacity" not in svg


def test_status_chart_places_days_on_a_continuous_axis():
    day = date(2024, 5, 1)
    svg = link_status_over_time([(day, {"ok": 3}),
                                 (day + timedelta(days=3), {"ok": 2, "broken": 1, "dead": 1})])
    assert "4 days up to 2024-05-04" in svg
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = {r.findtext("s:title", namespaces=ns): r
            for r in etree.fromstring(svg.encode()).xpath("//s:rect[s:title]", namespaces=ns)}
    assert set(bars) == {"2024-05-01: 3 ok", "2024-05-04: 2 ok", "2024-05-04: 1 broken"}
    first, last = bars["2024-05-01: 3 ok"], bars["2024-05-04: 2 ok"]
    step = float(first.get("width")) + 1  # a bar and its gap: one day
    # days 2 and 3 keep their place, empty
    assert float(last.get("x")) - float(first.get("x")) == pytest.approx(3 * step)
    for status in ("ok", "broken", "redirected", "unchecked"):
        assert f">{status}</text>" in svg  # the legend, whole words
    assert 'text-anchor="end">3</text>' in svg  # the scale: dead links are already among the broken


def test_human_times():
    when = datetime(2026, 12, 1, 14, 5, 9, tzinfo=UTC)
    assert human_date(when) == "1 December 2026"
    assert human_datetime(when) == "1 December 2026, 14:05 UTC"
    assert relative(when, when + timedelta(hours=3, minutes=10)) == "3 hours ago"
    assert relative(when + timedelta(days=2, hours=1), when) == "in 2 days"
    assert relative(when, when + timedelta(seconds=20)) == "just now"
    assert parse_time("2026-12-01T14:05:09") == when
    assert parse_time("garbage") is None and parse_time(None) is None


def test_checking_state_says_when_checking_is_off():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert not checking_state(None, None, now).on
    assert "no clock process" in checking_state(None, None, now).off_reason
    off = checking_state({"check_links": False, "build_interval": 300, "at": now.isoformat()}, None, now)
    assert not off.on and "without it" in off.off_reason
    old = (now - timedelta(hours=2)).isoformat()
    gone = checking_state({"check_links": True, "build_interval": 300, "at": old}, None, now)
    assert not gone.on and "has not run since" in gone.off_reason
    run = {"at": (now - timedelta(minutes=4)).isoformat(), "checked": 12,
           "next_at": (now + timedelta(minutes=6)).isoformat()}
    on = checking_state({"check_links": True, "build_interval": 300, "linkcheck_interval": 600,
                         "at": now.isoformat()}, run, now)
    assert on.on and on.last_run_checked == 12 and on.next_run == now + timedelta(minutes=6)


def test_status_page_renders_whatever_the_report_holds():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    bare = html.fromstring(render_status_page({"error": "store unavailable", "message": "gone"},
                                              OPTIONS, now))
    assert "store unavailable" in bare.text_content() and "No build has been recorded" in bare.text_content()
    build = {"status": "published", "generation": 7, "started_at": "2026-12-01T11:00:00+00:00",
             "duration_s": 1.5, "articles": 3, "problems": [
                 {"path": "a.md", "line": 4, "severity": "error", "reason": "no title"}],
             "timings": {"parse_s": 0.4, "render_s": 0.9}}
    older = {**build, "generation": 6, "started_at": "2026-12-01T10:00:00+00:00", "problems": []}
    page = html.fromstring(render_status_page({
        "generation": 7, "published_at": "2026-12-01T11:00:01+00:00", "last_build": build,
        "builds": [build, older], "links": {"ok": 5},
        "feeds": {"feeds/all.rss": {"requests": 40, "subscribers": 3}}}, OPTIONS, now))
    text = page.text_content()
    assert [h.text_content().split(" · ")[0] for h in page.xpath("//section[@class='build']/h3")] == \
        ["published", "published"]
    assert "Generation 6" in text and "a.md:4" in text and "no title" in text
    assert "parse" in page.xpath("//td/text()") and "0.9" in text
    assert page.xpath("//th/text()")[-2:] == ["requests", "subscribers"]
    assert "feeds/all.rss" in text and "1 December 2026, 11:00 UTC" in text


def test_topic_pages_come_newest_first_across_topics(write, settings_for):
    """Topic pages are rendered newest page first whatever their topic, as the feeds'
    pages are: an article's list item is held from the first page that lists it to
    the last, and topic by topic it was held through all the topic pages."""
    from feedsvc.build import load_catalog
    from feedsvc.render.site import render_site

    for n in range(1, 121):  # odd days in Privacy, even days in Labour: 60 each, 2 pages each
        write(f"story-{n:03d}.md", story(n, topic="Privacy" if n % 2 else "Labour"))
    write("topics.yml", "topics:\n  - slug: privacy\n    title: Privacy\n"
          "  - slug: labour\n    title: Labour\n")
    catalog = load_catalog(settings_for(write.root)).catalog
    order = [doc.path for doc in render_site(catalog, OPTIONS, now=START + timedelta(days=200))
             if doc.path.startswith("topics/") and doc.path.endswith(".html")]
    assert order == ["topics/labour.html", "topics/privacy.html",
                     "topics/labour/page/2.html", "topics/privacy/page/2.html"]
