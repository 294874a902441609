"""Reading, subscribing and operating, in Chromium: every page at phone width and in
dark mode, axe-core's WCAG 2 A/AA rules, keyboard-only subscribing, search over every
article, paging, the live article and link pages, and /status as a page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import EXTRA_ARTICLES, new_tab, screenshot

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OLDEST = "Archive story 000 on data protection"  # far beyond the 20 latest and page 1


def article_stems(site: str) -> dict[str, str]:
    """One article of each kind of page: live (link works), dead (published, archived), our own."""
    report = httpx.get(f"{site}/api/links?status=ok", timeout=10).json()
    live = report["links"][0]["articles"][0]["source"].rsplit(".", 1)[0]
    dead = httpx.get(f"{site}/api/links?status=dead", timeout=10).json()["links"][0]["articles"][0]
    return {"live": live, "dead": dead["source"].rsplit(".", 1)[0],
            "own": "2026-11-02-why-we-check-every-link"}


@pytest.fixture(scope="module")
def pages(site) -> dict[str, str]:
    stems = article_stems(site)
    return {"index": "/", "topic": "/topics/privacy", "topic-page-2": "/topics/privacy/page/2",
            "article-live": f"/articles/{stems['live']}", "article-dead": f"/articles/{stems['dead']}",
            "article-own": f"/articles/{stems['own']}", "links": "/links", "status": "/status",
            "not-found": "/topics/no-such-topic"}


NAMES = ["index", "topic", "topic-page-2", "article-live", "article-dead", "article-own", "links",
         "status", "not-found"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", NAMES)
def test_every_page_fits_a_phone_and_passes_axe(browser, site, pages, axe, name, scheme):
    context, tab = new_tab(browser, site, viewport={"width": 390, "height": 844}, color_scheme=scheme)
    try:
        tab.goto(pages[name])
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{pages[name]} is {width} px wide at 390 px"
        tab.add_script_tag(path=axe)
        result = tab.evaluate("""async (tags) => await axe.run(document,
            {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})""", WCAG)
        violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        assert violations == [], f"{pages[name]} ({scheme}): {violations}"
        screenshot(tab, f"{name}-390-{scheme}")
    finally:
        context.close()


@pytest.mark.parametrize("name", NAMES)
def test_every_page_passes_axe_at_desktop_width(page, pages, axe, name):
    page.goto(pages[name])
    page.add_script_tag(path=axe)
    result = page.evaluate("""async (tags) => await axe.run(document,
        {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})""", WCAG)
    assert [v["id"] for v in result["violations"]] == [], pages[name]
    screenshot(page, f"{name}-1100")


LUMINANCE = """(el) => {
  const c = getComputedStyle(el).backgroundColor.match(/[\\d.]+/g).map(Number);
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return {lum: 0.2126 * r + 0.7152 * g + 0.0722 * b, alpha: c.length > 3 ? c[3] : 1};
}"""


def test_dark_mode_declares_its_backgrounds(browser, site, pages):
    for scheme, dark in (("dark", True), ("light", False)):
        context, tab = new_tab(browser, site, color_scheme=scheme)
        for path in (pages["index"], pages["links"], pages["status"]):
            tab.goto(path)
            body = tab.eval_on_selector("body", LUMINANCE)
            assert body["alpha"] == 1 and (body["lum"] < 0.05 if dark else body["lum"] > 0.9), (path, scheme)
        tab.goto(pages["links"])
        for chart in ("#links-over-time", "#articles-per-month"):  # each chart draws its own ground
            assert tab.eval_on_selector(f"{chart} > rect", "r => r.getAttribute('fill')") == "#ffffff"
        context.close()


def focus_by_tab(tab, predicate: str, limit: int = 200) -> None:
    """Press Tab until the focused element satisfies `predicate` (JS, given `el`)."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if tab.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_keyboard_only_subscribe_on_a_topic_page(page, site):
    page.goto("/topics/privacy")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    focus_by_tab(page, "el.tagName === 'A' && el.textContent.startsWith('Feedly')")
    assert page.evaluate("document.activeElement.href") == (
        "https://feedly.com/i/subscription/feed%2F" + f"{site}/feeds/privacy.rss".replace(":", "%3A")
        .replace("/", "%2F"))
    focus_by_tab(page, "el.tagName === 'BUTTON' && el.dataset.copy")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.textContent.startsWith('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == f"{site}/feeds/privacy.rss"
    screenshot(page, "keyboard-subscribe")


def test_keyboard_only_subscribe_on_a_topic_card(page, site):
    page.goto("/")
    focus_by_tab(page, "el.tagName === 'SUMMARY' && el.textContent.includes('Algorithmic bias')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.parentElement.open")
    focus_by_tab(page, "el.tagName === 'BUTTON' && el.dataset.copy")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.textContent.startsWith('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"{site}/feeds/") and copied.endswith(".rss") and "/all." not in copied


def test_keyboard_chooses_topics_for_an_opml(page, site):
    page.goto("/")
    order = page.eval_on_selector_all("input[name=topics]", "bs => bs.map(b => b.value)")
    first, second = sorted(("labour", "privacy"), key=order.index)
    for slug in (first, second):  # in page order: Tab only goes forwards
        focus_by_tab(page, f"el.type === 'checkbox' && el.value === '{slug}'")
        page.keyboard.press("Space")
    address = page.locator("[data-opml-url]").inner_text()
    assert address == f"{site}/feeds.opml?topics={first},{second}"
    body = page.request.get(address)
    assert body.ok and body.headers["content-type"].startswith("text/x-opml")
    assert re.findall(r'xmlUrl="([^"]+)"', body.text()) == [f"{site}/feeds/{first}.rss",
                                                           f"{site}/feeds/{second}.rss"]
    focus_by_tab(page, "el.type === 'submit'")  # the form works without the script, too
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert "xmlUrl" in Path(download.value.path()).read_text(encoding="utf-8")


def test_search_finds_an_article_beyond_the_latest(page):
    page.goto("/")
    assert OLDEST not in page.locator("#latest").inner_text()
    page.get_by_label("Search all").fill("archive story 000")
    result = page.locator("#latest-results > li")
    result.first.wait_for()
    assert result.count() == 1 and result.locator("h3").inner_text() == OLDEST
    assert result.locator("a").get_attribute("href") == "https://news.example/archive/0"
    assert "Example Wire" in result.inner_text() and "1 January 2019" in result.inner_text()
    total = page.evaluate("fetch('/api/search.json').then(r => r.json()).then(d => d.articles.length)")
    assert total > 20 + EXTRA_ARTICLES
    assert page.locator("[role=status]").first.inner_text() == f"1 of {total} articles match"


def test_topic_search_covers_every_page_of_the_topic(page):
    page.goto("/topics/privacy")
    assert OLDEST not in page.locator("main").inner_text()
    page.get_by_label("Search all").fill("archive story")
    page.locator("#articles-results > li").first.wait_for()
    assert page.locator("#articles-results > li").count() == min(50, EXTRA_ARTICLES)
    assert page.locator("nav.pager").is_hidden()
    page.get_by_label("Search all").fill("000 data")
    page.wait_for_function("document.querySelectorAll('#articles-results > li').length === 1")
    assert page.locator("#articles-results h3").inner_text() == OLDEST


def test_topic_pages_page_through_every_article(page, site):
    page.goto("/topics/privacy")
    first = page.locator("#articles > li h3").all_inner_texts()
    assert len(first) == 50
    assert page.eval_on_selector("head link[rel=next]", "l => l.href") == f"{site}/topics/privacy/page/2"
    assert page.locator("head link[rel=prev]").count() == 0
    seen = list(first)
    while page.locator("nav.pager a[rel=next]").count():
        page.locator("nav.pager a[rel=next]").click()
        page.wait_for_load_state()
        previous = page.eval_on_selector("head link[rel=prev]", "l => l.href")
        assert previous.startswith(f"{site}/topics/privacy")
        seen += page.locator("#articles > li h3").all_inner_texts()
    count = int(re.search(r"(\d+) articles", page.locator("main > p.muted").first.inner_text()).group(1))
    assert len(seen) == len(set(seen)) == count and seen[-1] == OLDEST
    screenshot(page, "topic-last-page")


def test_subscribe_heading_sits_close_to_its_text(page):
    for path in ("/", "/topics/privacy"):
        page.goto(path)
        gap = page.evaluate("""() => { const h = document.querySelector('.subscribe h2');
            return h.nextElementSibling.getBoundingClientRect().top - h.getBoundingClientRect().bottom; }""")
        assert 0 <= gap <= 12, (path, gap)


def test_lines_are_capped_for_reading(browser, site):
    context, tab = new_tab(browser, site, viewport={"width": 1600, "height": 900})
    tab.goto("/topics/privacy")
    widest, ch = tab.evaluate("""() => { const p = document.querySelector('#articles li p:not(.muted)');
        const probe = document.createElement('span'); probe.textContent = '0'.repeat(10);
        p.appendChild(probe); const ch = probe.getBoundingClientRect().width / 10; probe.remove();
        return [p.getBoundingClientRect().width, ch]; }""")
    assert widest <= 70 * ch + 1
    context.close()


SHOWN_AS_TEXT = """(t) => [...document.querySelectorAll('body *:not(script)')].filter(
    e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() === t)).length"""


def test_title_is_shown_once(page):
    for path in ("/", "/topics/privacy", "/links"):
        page.goto(path)
        shown = page.evaluate(SHOWN_AS_TEXT, "AI Ethics News")
        assert shown == 1, path


def test_live_article_page_says_what_the_article_is(page, pages):
    page.goto(pages["article-live"])
    main = page.locator("main").inner_text()
    assert page.locator("main .outlet").count() == 1
    assert page.locator("main strong").first.inner_text()  # the summary
    assert page.locator("main p.muted a[href*='/topics/']").count() >= 1
    published = page.locator("main time").first
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", published.inner_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*", published.get_attribute("datetime"))
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", main)  # no raw ISO timestamps shown
    assert "Link checking is off" in main and "Next check" not in main
    screenshot(page, "article-live")


def test_dead_link_page_links_the_archived_copy(page, pages):
    page.goto(pages["article-dead"])
    assert "archived copy" in page.locator("main").inner_text()
    archived = page.locator("main a[href^='https://web.archive.org/web/']")
    assert archived.count() >= 1
    assert "archived copy" in archived.first.inner_text().lower()


def test_links_page_tells_operators_what_runs_and_where_to_fix(page):
    page.goto("/links")
    facts = dict(zip(page.locator("dl.facts dt").all_inner_texts(),
                     page.locator("dl.facts dd").all_inner_texts(), strict=True))
    assert list(facts) == ["Link checking", "Last run", "Next run", "Links due"]
    assert facts["Link checking"].startswith("Link checking is off")
    assert re.search(r"\d+ waiting for a check", facts["Links due"])
    assert facts["Next run"] == "none: checking is off"
    main = page.locator("main").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", main)
    edit = page.locator("text=Edit this file:").first
    assert edit.locator("code").inner_text().endswith(".md")
    legend = page.eval_on_selector_all("#articles-per-month text", "ts => ts.map(t => t.textContent)")
    assert "Articles a month:" in legend and "Privacy and data protection" in legend


def test_charts_scroll_inside_the_page_at_phone_width(browser, site):
    context, tab = new_tab(browser, site, viewport={"width": 390, "height": 844})
    tab.goto("/links")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    for chart in ("#links-over-time", "#articles-per-month"):
        size = tab.eval_on_selector(chart, "s => s.getBoundingClientRect().height")
        assert size >= 100  # drawn at its size, not shrunk to an unreadable strip
    tab.locator("figure.chart-scroll").last.focus()
    tab.keyboard.press("ArrowRight")  # keyboard users can scroll it
    context.close()


def test_status_is_a_page_in_a_browser_and_json_for_clients(page, site):
    response = page.goto("/status")
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert page.locator("h1").inner_text() == "Status"
    main = page.locator("main").inner_text()
    assert "Builds" in main and "articles" in main and "Phase" in main
    assert page.locator("section.build").count() >= 1
    plain = httpx.get(f"{site}/status", timeout=10)
    asked = httpx.get(f"{site}/status", headers={"Accept": "application/json"}, timeout=10)
    both = httpx.get(f"{site}/status", headers={"Accept": "application/json, text/html"}, timeout=10)
    for answer in (plain, asked, both):
        assert answer.headers["content-type"].startswith("application/json")
        assert "Accept" in answer.headers["vary"]
        assert json.loads(answer.text)["last_build"]["status"]
    screenshot(page, "status")
