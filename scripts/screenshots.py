"""Screenshots of the pages for the docs: docs/images/index.png, topic.png, article.png.

Builds the bundled content/ into a throwaway store, serves it with the real app
on http://localhost:8000 (the address the tutorial opens, so the pictures show
what a reader of the docs will see) and photographs three pages in Chromium
(Debian's, through Playwright) at 1280 x 900. Requests for anything but loopback (hot-linked lead
images) are answered with a blank image, so the script never leaves the
machine and the pictures do not depend on outside sites.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]   # default docs/images
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Route, sync_playwright
from werkzeug.serving import make_server

from feedsvc.build import Builder
from feedsvc.settings import load_settings
from feedsvc.store import Store
from feedsvc.web import create_app

REPO = Path(__file__).resolve().parent.parent
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PORT = 8000  # the tutorial's address, shown in the pages' feed URLs
PAGES = {"index": "/", "topic": "/topics/algorithmic-bias",
         "article": "/articles/2026-11-02-why-we-check-every-link"}


def _local_only(route: Route) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.fulfill(status=200, content_type="image/png", body=PIXEL)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        shutil.copytree(REPO / "content", tmp / "content")
        try:
            server = make_server("127.0.0.1", PORT, None)  # the app is set once it is built
        except OSError as exc:
            sys.exit(f"error: cannot listen on localhost:{PORT} ({exc.strerror}): stop what "
                     "uses it (a `feedsvc serve`?) and run this again")
        base = f"http://localhost:{PORT}"
        settings = load_settings(env={}, content_dir=tmp / "content", base_url=base, build_workers=1,
                                 database_url=f"sqlite:///{tmp}/store.db", cache_dir=tmp / "cache")
        store = Store(settings.database_url)
        store.create()
        Builder(settings, store).build()
        server.app = create_app({"FEEDSVC_SETTINGS": settings})
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                chromium = shutil.which("chromium") or shutil.which("chromium-browser")
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base,
                                              color_scheme="light")
                context.route("**/*", _local_only)
                tab = context.new_page()
                for name, path in PAGES.items():
                    tab.goto(path)
                    tab.screenshot(path=str(out / f"{name}.png"))
                    print(out / f"{name}.png")
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images")
