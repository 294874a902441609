"""A dead link that answers again goes back to its original URL at the next build, whatever
had made it dead: broken, error or soft 404. Real checks against a loopback site whose
story dies and comes back; only the earlier failures (a day ago) are written directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from feedsvc.build import Builder
from feedsvc.links.checker import CheckResult
from feedsvc.links.guard import StaticResolver
from feedsvc.links.run import rules_from, run_link_check
from feedsvc.store import Store
from feedsvc.store.linkstore import LinkStore
from tests.links.servers import LoopbackServer, respond

ATOM = {"a": "http://www.w3.org/2005/Atom"}
RESOLVER = StaticResolver({"flip.test": "127.0.0.1"})
DEAD = {  # how the story is dead: (status, headers, body) for any request
    "broken": (410, {}, b""),
    "error": (500, {}, b""),
    "soft_404": (301, {"Location": "/"}, b""),
}


@pytest.fixture
def flipping():
    """flip.test: a home page, and a story answering as `srv.mode` says ("alive" or a DEAD key)."""
    srv = LoopbackServer("127.0.0.1").start()
    srv.mode = "alive"

    @srv.route("/2024/story")
    async def story(request, writer):
        head = request.method == "HEAD"
        if srv.mode == "alive":
            await respond(writer, 200, {}, b"<title>The story</title>", head=head)
        else:
            status, headers, body = DEAD[srv.mode]
            await respond(writer, status, headers, body, head=head)

    @srv.route("/")
    async def home(request, writer):
        await respond(writer, 200, {}, b"<title>Home</title>", head=request.method == "HEAD")

    yield srv
    srv.stop()


def link_of(store: Store, title: str) -> str:
    root = etree.fromstring(store.read("feeds/all.atom")[1])
    entry = next(e for e in root.findall("a:entry", ATOM) if e.findtext("a:title", namespaces=ATOM) == title)
    return entry.find("a:link", ATOM).get("href")


@pytest.mark.parametrize("how", sorted(DEAD))
def test_a_dead_link_that_answers_again_gets_its_url_back(write, settings_for, flipping, how):
    url = flipping.url("/2024/story", "flip.test")
    write("s.md", f"---\ntitle: The story\ndate: 2024-01-02T10:00:00Z\nurl: {url}\n"
                  "summary: A story.\ntags: [Privacy]\n---\n")
    settings = settings_for(write.root, linkcheck_allow=["127.0.0.1/32"], linkcheck_host_gap=0.0,
                            linkcheck_deadline=3.0, linkcheck_timeout=1.0,
                            dead_link_policy="archive")
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    assert link_of(store, "The story") == url
    links = LinkStore(store)
    now = datetime.now(UTC)
    for hours in (26, 13):  # two failures of the same kind, a day and half a day ago
        links.record([CheckResult(url, how, None, url, False, "earlier", now - timedelta(hours=hours),
                                  1)], rules_from(settings))
    flipping.mode = how
    run_link_check(settings, store, [url], resolver=RESOLVER)
    state = links.states()[url]
    assert (state.status, state.dead) == (how, True)
    Builder(settings, store).build()
    assert link_of(store, "The story").startswith("https://web.archive.org/web/")

    flipping.mode = "alive"
    report = run_link_check(settings, store, [url], resolver=RESOLVER)
    assert report.recovered == [url]
    state = links.states()[url]
    assert (state.status, state.dead, state.consecutive_failures) == ("ok", False, 0)
    Builder(settings, store).build()
    assert link_of(store, "The story") == url


def test_a_soft_404_is_shown_with_its_reason(write, settings_for, flipping, monkeypatch):
    from click.testing import CliRunner
    from markupsafe import escape

    from feedsvc.cli import main
    from feedsvc.web import create_app

    url = flipping.url("/2024/story", "flip.test")
    write("s.md", f"---\ntitle: The story\ndate: 2024-01-02T10:00:00Z\nurl: {url}\n"
                  "summary: A story.\ntags: [Privacy]\n---\n")
    settings = settings_for(write.root, linkcheck_allow=["127.0.0.1/32"], linkcheck_host_gap=0.0,
                            linkcheck_deadline=3.0, linkcheck_timeout=1.0)
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    flipping.mode = "soft_404"
    run_link_check(settings, store, [url], resolver=RESOLVER)
    reason = "soft 404: redirected to the site's home page (/)"
    client = create_app({"FEEDSVC_SETTINGS": settings}).test_client()
    api = client.get("/api/links?status=soft_404").json
    assert [(row["url"], row["status"], row["error"]) for row in api["links"]] == [
        (url, "soft_404", reason)]
    assert api["counts"]["soft_404"] == 1
    shown = str(escape(reason)).encode()  # as the pages' templates escape it
    assert shown in client.get("/links").data
    article = client.get("/articles/s")
    assert article.status_code == 200 and shown in article.data
    spec = client.get("/openapi.json").json
    assert "soft_404" in spec["paths"]["/api/links"]["get"]["parameters"][0]["schema"]["items"]["enum"]
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", settings.database_url)
    report = CliRunner().invoke(main, ["links", "report", "--status", "soft_404"])
    assert report.exit_code == 0, report.output
    assert url in report.output and reason in report.output
