"""Real feed readers, each reduced to what its user would see per item.

feedparser (Python), newsboat (Debian's terminal reader, read back from its
own SQLite cache), rss-parser and @extractus/feed-extractor (Node, through
node/read.mjs), and a JSON Feed 1.1 reader written from the spec, since
feedparser 6 and newsboat cannot read JSON Feed. Every client fetches over
HTTP from the loopback server, never from anything else.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx

from tests.readers.expected import parse_date

NODE_DIR = Path(__file__).resolve().parent / "node"

# Which formats each client can read at all (newsboat 2.21 and rss-parser have no JSON Feed).
CLIENT_FORMATS = {
    "feedparser": ("rss", "atom"),
    "jsonfeed-spec": ("json",),
    "newsboat": ("rss", "atom"),
    "rss-parser": ("rss", "atom"),
    "feed-extractor": ("rss", "atom", "json"),
}
# Where a client can show an item's image at all: rss-parser 3.13 reads only the
# RSS <enclosure> and exposes nothing for an Atom entry, whatever the feed says.
IMAGE_FORMATS = {**CLIENT_FORMATS, "rss-parser": ("rss",)}


@dataclass(frozen=True)
class ReadItem:
    """One item as a client presents it."""

    client: str
    feed: str
    fmt: str
    id: str | None
    link: str | None
    title: str | None
    date: datetime | None
    author: str | None
    images: tuple[str, ...] = ()
    content: str = ""  # the body's HTML as the client hands it over


@dataclass
class FeedRead:
    client: str
    url: str
    fmt: str
    items: list[ReadItem] = field(default_factory=list)
    error: str | None = None


def _struct_to_datetime(value) -> datetime | None:
    return datetime(*value[:6], tzinfo=UTC) if value else None


def read_feedparser(url: str, fmt: str) -> FeedRead:
    """feedparser on the bytes fetched over HTTP (httpx, so no proxy setting can send them elsewhere)."""
    result = FeedRead("feedparser", url, fmt)
    response = httpx.get(url, trust_env=False, timeout=30)
    parsed = feedparser.parse(response.content, response_headers={
        "content-type": response.headers.get("content-type", ""), "content-location": url})
    if parsed.bozo:
        result.error = f"bozo: {parsed.bozo_exception!r}"
    for entry in parsed.entries:
        images = [e.get("href") for e in entry.get("enclosures", [])]
        images += [m.get("url") for m in entry.get("media_content", [])]
        images += [m.get("url") for m in entry.get("media_thumbnail", [])]
        content = entry.get("content") or [{"value": entry.get("summary", "")}]
        result.items.append(ReadItem(
            "feedparser", url, fmt, entry.get("id"), entry.get("link"), entry.get("title"),
            _struct_to_datetime(entry.get("published_parsed") or entry.get("updated_parsed")),
            entry.get("author"), tuple(i for i in images if i), content[0].get("value") or ""))
    return result


def read_jsonfeed(url: str, fmt: str) -> FeedRead:
    """A JSON Feed 1.1 reader as the spec describes one: `url`, `date_published`, `authors`, `image`."""
    result = FeedRead("jsonfeed-spec", url, fmt)
    response = httpx.get(url, trust_env=False, timeout=30)
    try:
        feed = json.loads(response.content)
    except ValueError as exc:
        result.error = f"not JSON: {exc}"
        return result
    for item in feed.get("items", []):
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        images = [item.get("image"), item.get("banner_image")]
        images += [a.get("url") for a in item.get("attachments", [])
                   if str(a.get("mime_type", "")).startswith("image/")]
        result.items.append(ReadItem(
            "jsonfeed-spec", url, fmt, item.get("id"), item.get("url"), item.get("title"),
            parse_date(item.get("date_published")), authors[0].get("name") if authors else None,
            tuple(i for i in images if i), item.get("content_html") or ""))
    return result


NEWSBOAT_CONFIG = """\
# Read the feed and nothing else: no full-page downloads, no proxy, no browser.
download-full-page no
prepopulate-query-feeds no
reload-threads 1
download-retries 1
download-timeout 30
use-proxy no
max-items 0
cleanup-on-quit no
show-read-feeds yes
browser false
"""


FETCHED = re.compile(r"parse_url: retrieved data for (\S+?):? ")
IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.I)


def newsboat_available() -> str | None:
    return shutil.which("newsboat")


def read_newsboat(url: str, fmt: str, work: Path) -> FeedRead:
    """`newsboat -x reload` with its own config, cache and url file, then its cache read back.

    An image is visible in newsboat as `enclosure_url` or as an `<img>` in the
    item's HTML (its viewer lists "[image N]" with the URL). newsboat 2.21
    keeps an enclosure only for podcast types: measured here, image/png and
    image/jpeg enclosures are dropped (enclosure_url empty), audio/mpeg is kept.

    One cache per feed: newsboat keys items by guid across the whole cache, and
    the same article (same id) is in the `all` feed, its topic feeds and in
    both formats, so a shared cache would hand items from one feed to another.
    """
    result = FeedRead("newsboat", url, fmt)
    work.mkdir(parents=True)
    (work / "config").write_text(NEWSBOAT_CONFIG)
    (work / "urls").write_text(url + "\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(work / "xdg-config"), "XDG_DATA_HOME": str(work / "xdg-data"),
           "TERM": "dumb"}
    run = subprocess.run(["newsboat", "-x", "reload", "-C", "config", "-c", "cache.db", "-u", "urls",
                          "-l", "5", "-d", "newsboat.log"],
                         cwd=work, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        output = (run.stdout + run.stderr).decode(errors="replace")
        result.error = f"newsboat exited {run.returncode}: {output[-500:]}"
        return result
    log = (work / "newsboat.log").read_text(errors="replace")
    fetched = set(FETCHED.findall(log))
    if fetched != {url}:
        result.error = f"newsboat fetched {sorted(fetched)!r}, expected only {url!r}"
    with sqlite3.connect(work / "cache.db") as db:
        rows = db.execute("SELECT guid, url, title, author, pubDate, enclosure_url, content FROM rss_item "
                          "WHERE feedurl = ? AND deleted = 0 ORDER BY id", (url,)).fetchall()
    for guid, link, title, author, pub, enclosure, content in rows:
        images = (([enclosure] if enclosure else [])
                  + [html.unescape(src) for src in IMG_SRC.findall(content or "")])
        result.items.append(ReadItem(
            "newsboat", url, fmt, guid or None, link or None, title or None,
            datetime.fromtimestamp(pub, UTC) if pub else None, author or None, tuple(images)))
    return result  # a feed it could not parse shows up as served items it did not read


def read_all_newsboat(feeds: list[tuple[str, str]], work: Path) -> list[FeedRead]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda pair: read_newsboat(pair[1][0], pair[1][1], work / f"feed-{pair[0]}"),
                             enumerate(feeds)))


def node_problem() -> str | None:
    """Why the Node readers cannot run here, or None."""
    if not shutil.which("node"):
        return "node is not installed (scripts/test installs nodejs and npm when run as root)"
    for package in ("rss-parser", "@extractus/feed-extractor"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            return f"{package} is not installed: run `npm ci` in {NODE_DIR.relative_to(NODE_DIR.parents[2])}"
    return None


def read_all_node(feeds: list[tuple[str, str]]) -> list[FeedRead]:
    """rss-parser and feed-extractor over every feed, in one node process."""
    request = json.dumps([{"url": url, "format": fmt} for url, fmt in feeds])
    started = time.monotonic()
    run = subprocess.run(["node", str(NODE_DIR / "read.mjs")], input=request.encode(), capture_output=True,
                         timeout=300, cwd=NODE_DIR)
    if run.returncode != 0:
        raise AssertionError(f"node read.mjs exited {run.returncode} after "
                             f"{time.monotonic() - started:.1f} s:\n"
                             f"{run.stderr.decode(errors='replace')[-2000:]}")
    reads = []
    for row in json.loads(run.stdout):
        read = FeedRead(row["library"], row["url"], row["format"], error=row.get("error"))
        for item in row.get("items", []):
            read.items.append(ReadItem(
                row["library"], row["url"], row["format"], item.get("id"), item.get("link"),
                item.get("title"), parse_date(item.get("date")), item.get("author"),
                tuple(i for i in item.get("images", []) if i), item.get("content") or ""))
        reads.append(read)
    return reads
