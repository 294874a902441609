"""The format registry: one module adds a format, and every part of feedsvc serves it.

A fresh interpreter registers a toy format before anything else is imported,
then builds the bundled content and asks the web app, the OpenAPI document
and the pages for it: nothing but the registry may be needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from feedsvc.render.formats import feed_format, format_names, media_type_for
from tests.conftest import CONTENT, REPO

TOY_FORMAT = textwrap.dedent('''
    import json, sys
    from feedsvc.render.formats import register

    class Titles:
        """One title per line: the smallest format there is."""
        name = "titles"
        media_type = "text/x-titles"
        label = "Title list"
        short_label = "Titles"
        openapi_schema = {"type": "string"}

        def entry(self, article, content, topics, options):
            return (article.title + "\\n").encode()

        def document(self, topic, page, options, entries, updated):
            return b"# " + topic.title.encode() + b"\\n" + b"".join(entries)

    register(Titles())

    from feedsvc.build import Builder
    from feedsvc.settings import load_settings
    from feedsvc.store import Store
    from feedsvc.web import create_app

    content, tmp = sys.argv[1], sys.argv[2]
    settings = load_settings(env={}, content_dir=content, database_url=f"sqlite:///{tmp}/s.db",
                             cache_dir=f"{tmp}/cache", build_workers=1, feed_size=5)
    store = Store(settings.database_url)
    store.create()
    assert Builder(settings, store).build().published
    client = create_app({"FEEDSVC_SETTINGS": settings, "TESTING": True}).test_client()
    feed = client.get("/feeds/privacy.titles")
    archive = client.get("/feeds/all/archive/1.titles")
    print(json.dumps({
        "status": feed.status_code, "type": feed.headers.get("Content-Type"),
        "body": feed.get_data(as_text=True), "archive": archive.status_code,
        "openapi": sorted(p for p in client.get("/openapi.json").json["paths"] if "titles" in p),
        "index_links": client.get("/").get_data(as_text=True).count(".titles"),
        "api": client.get("/api/topics").json["topics"][0]["feeds"].get("titles"),
    }))
''')


def test_a_new_format_is_one_registration(tmp_path):
    run = subprocess.run([sys.executable, "-c", TOY_FORMAT, str(CONTENT), str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["status"] == 200 and seen["type"].startswith("text/x-titles")
    assert seen["body"].startswith("# Privacy and data protection\n")
    assert "Clearview AI fined" in seen["body"]
    assert seen["archive"] == 200
    assert seen["openapi"] == ["/feeds/{topic}.titles", "/feeds/{topic}/archive/{page}.titles"]
    assert seen["index_links"] > 0  # every topic row links its feeds in every format
    assert seen["api"] == "http://localhost:8000/feeds/all.titles"


def test_the_three_formats_in_their_order():
    assert format_names() == ("rss", "atom", "json")
    assert [feed_format(n).media_type for n in format_names()] == [
        "application/rss+xml", "application/atom+xml", "application/feed+json"]
    assert media_type_for("feeds/x/archive/2.atom") == "application/atom+xml"
    assert media_type_for("feeds.opml") == "text/x-opml"
    assert media_type_for("api/topics.json") == "application/json"
