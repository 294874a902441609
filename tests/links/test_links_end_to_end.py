"""Link checking through the store, the build, the CLI and the web, on loopback only."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from lxml import etree

from feedsvc.build import Builder
from feedsvc.links.checker import CheckResult
from feedsvc.links.run import rules_from, run_link_check
from feedsvc.store import Store
from feedsvc.store.linkstore import LinkStore
from tests.links.conftest import RESOLVER

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def article(name: str, url: str, day: int, topic: str = "Privacy") -> str:
    return (f"---\ntitle: Story {name}\ndate: 2024-01-{day:02d}T10:00:00Z\nurl: {url}\n"
            f"summary: Summary of {name}.\ntags: [{topic}]\n---\n")


@pytest.fixture
def linked(write, settings_for, server):
    """Three articles whose links live on the loopback server, built once."""
    write("a.md", article("A", server.url("/gone", "site.test"), 1))
    write("b.md", article("B", server.url("/ok", "site.test"), 2))
    write("c.md", article("C", server.url("/moved", "site.test"), 3))
    settings = settings_for(write.root, linkcheck_allow=["127.0.0.1/32"], linkcheck_host_gap=0.0,
                            linkcheck_deadline=3.0, linkcheck_timeout=1.0)
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    return settings, store


def entries(store: Store, path: str = "feeds/all.atom") -> dict[str, etree._Element]:
    body = store.read(path)[1]
    root = etree.fromstring(body)
    return {e.findtext("a:title", namespaces=ATOM): e for e in root.findall("a:entry", ATOM)}


def test_build_registers_urls_and_a_run_records_them(linked, server):
    settings, store = linked
    links = LinkStore(store)
    now = datetime.now(UTC)
    due = links.due(now)
    assert len(due) == 3 and links.counts()["unchecked"] == 3
    report = run_link_check(settings, store, due, resolver=RESOLVER)
    assert report.checked == 3 and dict(report.by_status) == {"broken": 1, "ok": 1, "redirected": 1}
    states = links.states()
    gone = states[server.url("/gone", "site.test")]
    assert (gone.status, gone.code, gone.consecutive_failures, gone.dead) == ("broken", 410, 1, False)
    assert links.due(now) == []  # checked: nothing due until the next_check_at
    history = links.history([gone.url])[gone.url]
    assert [h["status"] for h in history] == ["broken"]


def test_articles_that_disappear_are_no_longer_checked(linked, write, server):
    settings, store = linked
    (write.root / "a.md").unlink()
    Builder(settings, store).build()
    assert server.url("/gone", "site.test") not in LinkStore(store).active_urls()


def record_failures(store: Store, settings, url: str, hours=(0, 12, 25)) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for h in hours:
        LinkStore(store).record([CheckResult(url, "broken", 410, url, False, "HTTP 410",
                                             start + timedelta(hours=h), 3)], rules_from(settings))


@pytest.mark.parametrize("policy", ["keep", "archive", "self"])
def test_dead_link_policies(linked, server, policy):
    settings, store = linked
    before = entries(store)
    dead_url = server.url("/gone", "site.test")
    record_failures(store, settings, dead_url, hours=(0, 12))
    assert not LinkStore(store).states()[dead_url].dead
    record_failures(store, settings, dead_url, hours=(25,))
    assert LinkStore(store).states()[dead_url].dead
    settings = settings.replace(dead_link_policy=policy)
    report = Builder(settings, store).build()
    assert report.published
    after = entries(store)
    item = after["Story A"]
    link = item.find("a:link[@rel='alternate']", ATOM)
    link = link if link is not None else item.find("a:link", ATOM)
    expected = {"keep": dead_url,
                "archive": f"https://web.archive.org/web/20240101100000/{dead_url}",
                "self": "https://feeds.test/articles/a"}[policy]
    assert link.get("href") == expected
    assert "link-dead" in item.xpath("a:category/@term", namespaces=ATOM)
    from feedsvc.links.effects import NOTES

    content = item.findtext("a:content", namespaces=ATOM)
    assert NOTES[policy] in content and "Summary of A." in content
    for title in ("Story B", "Story C"):  # fine links: byte-for-byte unaffected
        assert etree.tostring(after[title]) == etree.tostring(before[title])
    rss = etree.fromstring(store.read("feeds/all.rss")[1])
    rss_item = next(i for i in rss.iter("item") if i.findtext("title") == "Story A")
    assert rss_item.findtext("link") == expected
    assert "Original link is dead" in rss_item.xpath("category/text()")
    jsn = json.loads(store.read("feeds/all.json")[1])
    json_item = next(i for i in jsn["items"] if i["title"] == "Story A")
    assert json_item["url"] == expected and json_item["_feedsvc"]["link_status"] == "dead"
    if policy == "self":
        assert store.read("articles/a.html") is not None


def test_permanent_redirects_update_links_when_enabled(linked, server):
    settings, store = linked
    run_link_check(settings, store, LinkStore(store).due(datetime.now(UTC)), resolver=RESOLVER)
    Builder(settings, store).build()
    assert entries(store)["Story C"].find("a:link", ATOM).get("href") == server.url("/moved", "site.test")
    Builder(settings.replace(follow_permanent_redirects=True), store).build()
    assert entries(store)["Story C"].find("a:link", ATOM).get("href") == server.url("/ok", "site.test")


@pytest.fixture
def cli_env(write, tmp_path, server, monkeypatch):
    write("a.md", article("A", server.url("/gone"), 1))
    write("b.md", article("B", server.url("/ok"), 2))
    for name, value in {"FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
                        "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "1",
                        "FEEDSVC_LINKCHECK_ALLOW": "127.0.0.1", "FEEDSVC_LINKCHECK_HOST_GAP": "0",
                        "FEEDSVC_LINKCHECK_DEADLINE": "3"}.items():
        monkeypatch.setenv(name, value)
    return write.root


def test_cli_check_and_report(cli_env, server):
    from feedsvc.cli import main

    runner = CliRunner()
    checked = runner.invoke(main, ["links", "check", "--content", str(cli_env)])
    assert checked.exit_code == 0, checked.output
    lines = checked.output.strip().splitlines()
    assert any(re.match(rf"broken\s+410 {re.escape(server.url('/gone'))}", line) for line in lines)
    assert lines[-1].startswith("checked 2 URLs in ")
    assert "ok 1, redirected 0, blocked 0, error 0, broken 1" in lines[-1]
    again = runner.invoke(main, ["links", "check", "--content", str(cli_env)])
    assert "0 URLs to check" in again.output
    forced = runner.invoke(main, ["links", "check", "--all", "--content", str(cli_env)])
    assert forced.output.strip().splitlines()[-1].startswith("checked 2 URLs")
    report = json.loads(runner.invoke(main, ["links", "report", "--format", "json"]).output)
    gone = next(row for row in report["links"] if row["url"] == server.url("/gone"))
    assert gone["status"] == "broken" and gone["consecutive_failures"] == 2
    assert [h["status"] for h in gone["history"]] == ["broken", "broken"]
    assert gone["articles"][0]["title"] == "Story A"
    markdown = runner.invoke(main, ["links", "report", "--format", "markdown", "--status", "broken"]).output
    assert markdown.startswith("# Link health") and server.url("/gone") in markdown
    assert server.url("/ok") not in markdown
    text = runner.invoke(main, ["links", "report", "--status", "ok"]).output
    assert server.url("/ok") in text and server.url("/gone") not in text


def test_web_links_page_api_and_status(linked, server):
    from feedsvc.web import create_app

    settings, store = linked
    run_link_check(settings, store, LinkStore(store).due(datetime.now(UTC)), resolver=RESOLVER)
    client = create_app({"FEEDSVC_SETTINGS": settings}).test_client()
    page = client.get("/links")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    assert server.url("/gone", "site.test").encode() in page.data
    assert b"Story A" in page.data
    api = client.get("/api/links?status=broken").json
    assert [row["url"] for row in api["links"]] == [server.url("/gone", "site.test")]
    assert api["links"][0]["history"][0]["code"] == 410
    everything = client.get("/api/links").json
    assert everything["total"] == 3 and everything["counts"]["ok"] == 1
    assert client.get("/api/links?status=nonsense").status_code == 400
    assert client.get("/status").json["links"]["broken"] == 1
    detail = client.get("/articles/a")  # not our article, link not dead: a live status page
    assert detail.status_code == 200 and detail.headers["Cache-Control"] == "no-cache"
    assert b"Story A" in detail.data and b"broken" in detail.data and b"HTTP 410" in detail.data
    assert b'href="https://feeds.test/articles/a"' in page.data
    assert client.get("/articles/nope").status_code == 404


def test_recorded_batches_keep_the_stored_counts_equal_to_a_fresh_count(linked, server):
    from feedsvc.store.linkstore import _count_ranks

    settings, store = linked
    links = LinkStore(store)
    urls = links.active_urls()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["ok", "broken", "soft_404", "error", "blocked", "redirected", "deferred", "broken"]
    for n, status in enumerate(statuses):  # a URL twice in a batch, and one never registered
        batch = [CheckResult(url, status, None, url, False, None, start + timedelta(hours=13 * n), 1)
                 for url in (*urls, urls[0], "http://unregistered.test/x")]
        links.record(batch, rules_from(settings))
        with store.engine.connect() as conn:
            assert links.rank_counts() == _count_ranks(conn), status
