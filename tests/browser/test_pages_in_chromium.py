"""End-to-end: the pages as a person sees them, in a real Chromium (Debian's), over real HTTP.

Screenshots go to test-artifacts/ (FEEDSVC_TEST_ARTIFACTS to move them).
Skipped, saying why, where Chromium or Playwright is missing; scripts/test
installs both when it runs as root.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from feedsvc.build import Builder
from feedsvc.links.checker import CheckResult
from feedsvc.links.run import rules_from
from feedsvc.links.store import LinkStore
from feedsvc.store import Store
from tests.conftest import CONTENT, REPO
from tests.test_clock import start_process, stop, wait_until
from tests.web.test_server import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("FEEDSVC_TEST_ARTIFACTS", REPO / "test-artifacts"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; scripts/test does it as root)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The bundled content, built, with link history, served by the real `feedsvc web`."""
    from feedsvc.settings import load_settings

    tmp = tmp_path_factory.mktemp("browser")
    content = tmp / "content"
    shutil.copytree(CONTENT, content)
    port = free_port()
    settings = load_settings(env={}, content_dir=content, database_url=f"sqlite:///{tmp}/store.db",
                             cache_dir=tmp / "cache", base_url=f"http://127.0.0.1:{port}", build_workers=1)
    store = Store(settings.database_url)
    store.create()
    Builder(settings, store).build()
    links = LinkStore(store)
    urls = links.active_urls()
    start = datetime.now(UTC) - timedelta(days=5)
    for day in range(5):  # recorded history, not checks: no test ever contacts these sites
        when = start + timedelta(days=day)
        links.record([CheckResult(u, "broken" if i % 7 == 0 else "ok", 404 if i % 7 == 0 else 200, u,
                                  False, None, when, 5) for i, u in enumerate(urls)], rules_from(settings))
        links.snapshot(when)
    process = start_process(["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            settings, tmp / "web.log")
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    assert wait_until(ready, 30), (tmp / "web.log").read_text()
    yield base
    stop(process)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site, permissions=["clipboard-read", "clipboard-write"],
                                  viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_index_lists_every_topic(page):
    page.goto("/")
    rows = page.locator("table.topics tbody tr")
    assert rows.count() == 13
    assert ("Facial recognition" in rows.all_inner_texts()[3]
            or "Facial recognition" in " ".join(rows.all_inner_texts()))
    screenshot(page, "index")


def test_autodiscovered_feeds_return_feeds(page):
    page.goto("/topics/privacy")
    links = page.eval_on_selector_all("link[rel=alternate]", "els => els.map(e => [e.type, e.href])")
    assert len(links) == 3
    for media_type, href in links:
        response = page.request.get(href)
        assert response.ok and response.headers["content-type"].startswith(media_type)


def test_search_box_filters_articles(page):
    page.goto("/")
    box = page.get_by_label("Search articles by title")
    assert box.is_visible()
    total = page.locator("#latest > li").count()
    box.fill("facial")
    visible = page.locator("#latest > li:visible")
    assert 0 < visible.count() < total
    assert all("facial" in t.lower() for t in visible.locator("h3").all_inner_texts())
    assert "articles match" in page.locator("[role=status]").first.inner_text()
    screenshot(page, "search")
    box.fill("")
    assert page.locator("#latest > li:visible").count() == total


def test_copy_buttons_copy_the_feed_url(page, site):
    page.goto("/topics/regulation")
    page.get_by_role("button", name="Copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == f"{site}/feeds/regulation.rss"
    assert page.get_by_role("button", name="Copied").count() == 1


def test_pages_work_without_javascript(browser, site):
    context = browser.new_context(base_url=site, java_script_enabled=False)
    tab = context.new_page()
    tab.goto("/")
    assert tab.locator("form.search").is_hidden()  # nothing half-working is shown
    assert tab.locator("#latest > li").count() > 10
    assert tab.locator("input[readonly]").first.input_value().endswith("/feeds/all.rss")
    context.close()


def test_link_dashboard_shows_its_charts(page):
    page.goto("/links")
    charts = page.locator("svg[role=img]")
    assert charts.count() == 2
    assert page.locator("#links-over-time rect title").count() > 0
    assert page.locator("#articles-per-month rect").count() > 0
    assert "broken" in page.locator("main").inner_text()
    screenshot(page, "links-dashboard")


TRANSFORM = """async (path) => {
    if (typeof XSLTProcessor === "undefined") return null;
    const parse = async (url) => new DOMParser().parseFromString(
        await (await fetch(url)).text(), "application/xml");
    const processor = new XSLTProcessor();
    processor.importStylesheet(await parse("/feed.xsl"));
    const holder = document.createElement("div");
    holder.appendChild(processor.transformToFragment(await parse(path), document));
    document.body.replaceChildren(holder);
    return holder.innerText;
}"""


def test_feeds_are_readable_in_the_browser(page, site):
    """The feeds' stylesheet, run by the browser's own XSLT engine, and the plain HTML view.

    (Chromium shows an application/rss+xml navigation as text without applying
    the stylesheet; browsers that render feeds as XML apply it. The topic page
    is the same view in plain HTML for everyone.)"""
    page.goto("/")
    for path in ("/feeds/all.rss", "/feeds/privacy.atom"):
        text = page.evaluate(TRANSFORM, path)
        if text is None:
            pytest.skip("this Chromium has no XSLT engine any more; the HTML view is tested below")
        assert "To subscribe, copy this address" in text
        assert f"{site}{path}" in text
        assert "View these articles as a web page" in text
    screenshot(page, "feed-via-xslt")
    page.goto("/topics/privacy")
    body = page.locator("main").inner_text()
    assert "Copy a feed address into your feed reader" in body
    assert page.locator("input[readonly]").first.input_value() == f"{site}/feeds/privacy.rss"
