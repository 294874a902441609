"""The reader and operator pages through the app: /status by Accept, a chosen set of
topics as OPML, each topic's OPML, the search index, topic pages past the first, and
what the live article and /links pages say about link checking."""

from __future__ import annotations

from datetime import datetime, timedelta

from lxml import etree, html

from feedsvc.clock import Clock
from feedsvc.models import utcnow
from feedsvc.store import CLOCK_LEASE, Store

LIVE = "/articles/2016-05-23-machine-bias"  # an upstream article whose link is fine


def test_status_is_html_for_browsers_and_json_otherwise(client):
    browser = client.get("/status", headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert browser.content_type == "text/html; charset=utf-8"
    assert "Accept" in browser.headers["Vary"] and browser.headers["Cache-Control"] == "no-store"
    page = html.document_fromstring(browser.data)
    assert page.xpath("//h1/text()") == ["Status"] and page.xpath("//section[@class='build']")
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.9",
                   "text/html;q=0.5, application/json"):
        answer = client.get("/status", headers={"Accept": accept} if accept else {})
        assert answer.is_json, accept
        assert "Accept" in answer.headers["Vary"]
        assert answer.get_json()["last_build"]["status"] == "published"


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_status_page_shows_what_operators_are_told_it_shows(client, app, site_settings,
                                                                 publish):
    """docs/operations.md lists what /status holds; the page a browser gets must show the
    same as the JSON: the clocks, builds by status, the last refused build kept apart
    from the last published one, and polls and subscribers per feed."""
    store = Store(site_settings.database_url)
    now = utcnow()
    assert store.claim_lease(CLOCK_LEASE, "clock-a@host:1", 60, now) is not None
    store.record_clock("clock-a@host:1", leader=True, changed=True, started_at=now, now=now,
                       latency_s=0.002, lease_seconds=60)
    (site_settings.content_dir / "topics.yml").write_text("topics: [oops\n")
    assert publish().status == "taxonomy-invalid"
    feedly = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; )"
    client.get("/feeds/privacy.rss", headers={"User-Agent": feedly})
    app.extensions["feedsvc_polls"].flush()
    page = html.document_fromstring(client.get("/status", headers=BROWSER).data)
    text = " ".join(page.text_content().split())
    [clock_row] = page.xpath("//tr[td/code='clock-a@host:1']")
    assert "leader" in clock_row.text_content()
    assert "1 published · 1 taxonomy-invalid" in text
    headings = [" ".join(h.text_content().split()) for h in page.xpath("//section[@class='build']/h3")]
    assert headings[0].startswith("taxonomy-invalid") and "the last build" in headings[0]
    assert "the last refused or failed" in headings[0]
    assert headings[1].startswith("published") and "the last that published" in headings[1]
    [feed_row] = page.xpath("//tr[td/code='feeds/privacy.rss']")
    cells = [td.text_content() for td in feed_row.xpath("td")]
    columns = [th.text_content() for th in feed_row.xpath("../../thead//th")]
    assert cells[columns.index("subscribers")] == "42"
    assert cells[columns.index("polls today")] == "1"


def outlines(body: bytes) -> list[str]:
    return etree.fromstring(body).xpath("//outline/@xmlUrl")


def test_a_chosen_set_of_topics_as_opml(client):
    order = [t["slug"] for t in client.get("/api/topics").get_json()["topics"]]
    both = [f"https://feeds.test/feeds/{slug}.rss" for slug in sorted(("labour", "privacy"), key=order.index)]
    for query in ("topics=privacy,labour", "topics=privacy&topics=labour", "topics=labour,nope,privacy"):
        answer = client.get(f"/feeds.opml?{query}")
        assert answer.status_code == 200 and answer.content_type == "text/x-opml; charset=utf-8"
        assert outlines(answer.data) == both, query
    assert client.get("/feeds.opml?topics=nope").status_code == 404
    assert client.get("/feeds.opml?topics=%3Cscript%3E").status_code == 404
    assert len(outlines(client.get("/feeds.opml").data)) == 14  # all, and every topic


def test_each_topic_opml_and_the_search_index_are_served(client):
    answer = client.get("/topics/privacy.opml")
    assert answer.content_type == "text/x-opml; charset=utf-8" and answer.headers["ETag"]
    assert outlines(answer.data) == ["https://feeds.test/feeds/privacy.rss"]
    index = client.get("/api/search.json")
    assert index.content_type == "application/json; charset=utf-8"
    everything = client.get("/api/topics").get_json()["topics"][0]
    assert everything["slug"] == "all" and everything["articles"] > 30
    assert len(index.get_json()["articles"]) == everything["articles"]
    assert client.get("/topics/privacy/page/2").status_code == 404  # 5 articles: one page
    assert client.get("/topics/privacy/page/1").status_code == 404  # page 1 is /topics/privacy


def test_live_article_page_says_checking_is_off_without_a_clock(client):
    text = html.document_fromstring(client.get(LIVE).data).text_content()
    assert "Link checking is off" in text and "Next check" not in text
    assert "ProPublica" in text and "23 May 2016" in text and "risk score" in text


def test_live_article_page_and_links_page_with_checking_on(client, site_settings):
    store = Store(site_settings.database_url)
    Clock(site_settings, store, check_links=True)._record_clock_state()  # never a real run: no network
    now = utcnow()
    store.put_state("last_link_run", {"at": (now - timedelta(minutes=3)).isoformat(), "checked": 0,
                                      "next_at": (now + timedelta(minutes=7)).isoformat()})
    text = html.document_fromstring(client.get(LIVE).data).text_content()
    assert "Link checking is off" not in text and "Next check" in text
    links = html.document_fromstring(client.get("/links").data)
    facts = dict(zip(links.xpath("//dl[@class='facts']/dt/text()"),
                     (dd.text_content() for dd in links.xpath("//dl[@class='facts']/dd")), strict=True))
    assert facts["Link checking"].startswith("on, a run every 10 minutes")
    assert facts["Last run"].endswith("(3 minutes ago): 0 links checked")
    assert "(in 6 minutes)" in facts["Next run"] or "(in 7 minutes)" in facts["Next run"]
    assert "Edit this file:" in links.text_content() or not links.xpath("//h3")


def test_a_clock_records_whether_it_checks_links(site_settings, publish):
    publish()
    store = Store(site_settings.database_url)
    before = utcnow()
    Clock(site_settings, store, check_links=False).build_job()
    recorded = store.get_state("clock")
    assert recorded is not None and recorded["check_links"] is False
    assert recorded["linkcheck_interval"] == site_settings.linkcheck_interval
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(recorded["at"]) <= utcnow()


def test_live_article_page_follows_an_edited_article(client, site_settings, publish):
    path = site_settings.content_dir / "2016-05-23-machine-bias.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'title: "Machine Bias"', 'title: "Machine Bias, revisited"'), encoding="utf-8")
    publish()
    page = html.document_fromstring(client.get(LIVE).data)
    assert page.xpath("//h1/text()") == ["Machine Bias, revisited"]
