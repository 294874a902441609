"""Browser fixtures: the bundled content plus enough articles to page, built with link
history, served by the real `feedsvc web`, read by Debian's Chromium through Playwright.

Every request the pages make to anything but loopback (lead images are
hot-linked from the outlets) is answered by the test itself with an empty
image, so no test ever reaches the network.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from feedsvc.build import Builder
from feedsvc.links.checker import CheckResult
from feedsvc.links.run import rules_from
from feedsvc.store import Store
from feedsvc.store.linkstore import LinkStore
from tests.conftest import CONTENT, REPO
from tests.test_clock import start_process, stop, wait_until
from tests.web.test_server import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("FEEDSVC_SCREENSHOTS")
                 or os.environ.get("FEEDSVC_TEST_ARTIFACTS", REPO / "test-artifacts"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ]
AXE = REPO / "tests" / "browser" / "node" / "node_modules" / "axe-core" / "axe.min.js"
EXTRA_ARTICLES = 70  # with the bundled ones, enough for two pages of the privacy topic
# A 1x1 transparent PNG, answered for every outside image so pages lay out as with real ones.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; scripts/test does it as root)",
                allow_module_level=True)


def extra_article(n: int) -> str:
    """An older privacy article; its URL is never fetched (link results are recorded, not checked)."""
    when = datetime(2019, 1, 1, 8, 0, tzinfo=UTC) + timedelta(days=3 * n)
    return (f"---\ntitle: \"Archive story {n:03d} on data protection\"\n"
            f"excerpt: \"Older coverage number {n} about personal data.\"\n"
            f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}\n"
            f"originalUrl: \"https://news.example/archive/{n}\"\ntype: article\npublished: true\n"
            f"provider:\n  name: \"Example Wire\"\ntopics:\n  - Privacy\n---\nBody {n}.\n")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The bundled content and EXTRA_ARTICLES more, built, with five days of link history
    (every seventh link broken, so dead after the rebuild), served by `feedsvc web`."""
    from feedsvc.settings import load_settings

    tmp = tmp_path_factory.mktemp("browser")
    content = tmp / "content"
    shutil.copytree(CONTENT, content)
    for n in range(EXTRA_ARTICLES):
        (content / f"archive-story-{n:03d}.md").write_text(extra_article(n), encoding="utf-8")
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
    Builder(settings, store).build()  # dead links now point at archived copies
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


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, stopped after the last of them: Playwright's
    sync API runs an event loop in this thread while it is open, and every later test
    that calls asyncio.run() (the link checker, WebSub) would fail."""
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def keep_on_loopback(route) -> None:
    """Answer every request for an outside address here: tests never leave the machine."""
    if (urlsplit(route.request.url).hostname or "") in LOOPBACK:
        route.continue_()
    else:
        route.fulfill(status=200, content_type="image/png", body=PIXEL)


def new_tab(browser, site: str, **options):
    context = browser.new_context(base_url=site, permissions=["clipboard-read", "clipboard-write"],
                                  **{"viewport": {"width": 1100, "height": 900}, **options})
    context.route("**/*", keep_on_loopback)
    return context, context.new_page()


@pytest.fixture
def page(browser, site):
    context, tab = new_tab(browser, site)
    yield tab
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def axe() -> str:
    """axe-core's script, installed by `npm ci` in tests/browser/node (scripts/test does it)."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run npm ci in tests/browser/node")
    return str(AXE)
