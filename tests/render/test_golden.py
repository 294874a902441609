"""Golden documents: the exact bytes every renderer gives for one fixed catalog.

Determinism is a promise feedsvc makes (equal ETags on every instance, 304s
for readers), so the renderers are pinned byte for byte here, apart from the
Builder and the store: `tests/data/golden/catalog.py` holds a small catalog
written out by hand, `render_site` renders it with fixed `FeedOptions`, no
previous generation and a fixed build time, and each document listed in
`GOLDEN_PATHS` must equal its file under `tests/data/golden/` (same layout as
the store and `feedsvc export`). On a mismatch the assertion message is a
unified diff of both sides pretty-printed (lxml for XML, indented JSON, lines
for HTML); the assertion itself stays byte-exact.

Regenerating the golden files, after a change that is meant to change output:

    FEEDSVC_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/render/test_golden.py -s

rewrites every golden file that differs (printing the readable diff of each)
instead of comparing; then read `git diff` (`--word-diff` helps: feeds are on
one line) as you would read a reader's view of the change, and commit the
files with the change that explains them. The generator element would carry
the package version; the test pins `catalog.GENERATOR` in its place, so a
version bump regenerates nothing.

Besides the comparison: rendering twice, and in a fresh interpreter with
another hash seed and another local time zone, gives the same bytes for every
document; every golden feed parses with lxml and feedparser and passes the
offline validity checks of the reader-conformance suite; the build time shows
only in the document that has no entries.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

import feedsvc.render.documents as documents_module
from feedsvc.render.site import render_site
from tests.data.golden import catalog as golden
from tests.readers.site import Document as ReaderDocument
from tests.readers.validity import CHECKS

GOLDEN_DIR = Path(golden.__file__).resolve().parent
REPO = GOLDEN_DIR.parents[2]
REGENERATE_ENV = "FEEDSVC_REGENERATE_GOLDEN"
REGENERATE = os.environ.get(REGENERATE_ENV, "") not in ("", "0")
XML_SUFFIXES = (".rss", ".atom", ".opml")
FEED_MEDIA = {".rss": "application/rss+xml", ".atom": "application/atom+xml",
              ".json": "application/feed+json"}


@contextmanager
def pinned_generator() -> Iterator[None]:
    """The generator element without the package version (see the module docstring)."""
    real = documents_module.GENERATOR  # AttributeError if it moves: fix the pin, not the files
    documents_module.GENERATOR = golden.GENERATOR
    try:
        yield
    finally:
        documents_module.GENERATOR = real


class Rendered(dict):
    """path -> bytes, with a short repr: a failing test should show its diff, not 60 KB."""

    def __repr__(self) -> str:
        return f"<{len(self)} rendered documents>"


def render_all() -> dict[str, bytes]:
    """Every document of the golden catalog, path -> bytes (no previous generation)."""
    with pinned_generator():
        docs = list(render_site(golden.catalog(), golden.OPTIONS, previous={}, now=golden.NOW))
    rendered = Rendered()
    for doc in docs:
        assert doc.body is not None, f"{doc.path}: no body with no previous generation"
        assert doc.path not in rendered, f"{doc.path} rendered twice"
        rendered[doc.path] = doc.body
    return rendered


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return render_all()


# --- readable diffs -------------------------------------------------------------

def readable_lines(path: str, body: bytes) -> list[str]:
    """One side of the diff: XML pretty-printed, JSON indented, HTML as it is."""
    try:
        if path.endswith(XML_SUFFIXES):
            parser = etree.XMLParser(remove_blank_text=True)
            root = etree.fromstring(body, parser)
            return etree.tostring(root, pretty_print=True, encoding="unicode").splitlines()
        if path.endswith(".json"):
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False).splitlines()
    except (etree.XMLSyntaxError, ValueError) as exc:  # show the raw text and why
        return [f"(unparseable: {exc})", *body.decode("utf-8", "replace").splitlines()]
    return body.decode("utf-8", "replace").splitlines()


def readable_diff(path: str, expected: bytes, actual: bytes) -> str:
    diff = list(difflib.unified_diff(readable_lines(path, expected), readable_lines(path, actual),
                                     f"golden/{path}", f"rendered/{path}", lineterm="", n=3))
    if not diff:  # same structure, different bytes (whitespace, quoting, attribute order)
        at = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
                  min(len(expected), len(actual)))
        return (f"the pretty-printed forms agree but the bytes differ at offset {at}:\n"
                f"  golden:   {expected[max(0, at - 60):at + 60]!r}\n"
                f"  rendered: {actual[max(0, at - 60):at + 60]!r}")
    return "\n".join(diff)


def regenerate_hint() -> str:
    return (f"\n\nIf this change is intended, regenerate with {REGENERATE_ENV}=1 "
            "(see tests/render/test_golden.py) and review the diff.")


# --- the golden comparison -------------------------------------------------------

@pytest.mark.parametrize("path", golden.GOLDEN_PATHS)
def test_document_matches_its_golden_file(rendered, path):
    actual = rendered[path]
    target = GOLDEN_DIR / path
    expected = target.read_bytes() if target.exists() else None
    if REGENERATE:
        if expected != actual:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(actual)
            print(f"\nregenerated golden/{path}\n" + readable_diff(path, expected or b"", actual))
        return
    assert expected is not None, f"golden/{path} is missing" + regenerate_hint()
    assert actual == expected, readable_diff(path, expected, actual) + regenerate_hint()


def test_every_golden_file_is_still_rendered():
    """A golden file nobody compares any more is a stale promise: list it, or delete it."""
    on_disk = {p.relative_to(GOLDEN_DIR).as_posix() for p in GOLDEN_DIR.rglob("*")
               if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts}
    assert on_disk <= set(golden.GOLDEN_PATHS), sorted(on_disk - set(golden.GOLDEN_PATHS))


# --- determinism -----------------------------------------------------------------

def test_rendering_twice_gives_identical_bytes(rendered):
    again = render_all()
    assert again.keys() == rendered.keys()
    differing = [path for path in rendered if again[path] != rendered[path]]
    assert not differing, differing


_CHILD = """
import hashlib, json, sys
from tests.render.test_golden import render_all
json.dump({p: hashlib.sha256(b).hexdigest() for p, b in render_all().items()}, sys.stdout)
"""


@pytest.mark.parametrize(("hash_seed", "zone"), [("1", "Pacific/Kiritimati"), ("4242", "America/Adak")])
def test_another_interpreter_renders_the_same_bytes(rendered, hash_seed, zone):
    """Set and dict iteration (hash seed) and the local time zone must not reach the bytes."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "TZ": zone, REGENERATE_ENV: ""}
    child = subprocess.run([sys.executable, "-c", _CHILD], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert child.returncode == 0, child.stderr
    theirs = json.loads(child.stdout)
    ours = {path: hashlib.sha256(body).hexdigest() for path, body in rendered.items()}
    assert theirs.keys() == ours.keys()
    assert [p for p in ours if theirs[p] != ours[p]] == []


def test_the_build_time_shows_only_where_there_is_no_entry(rendered):
    """Feed dates are the newest entry's; only the empty topic's feed has none to show."""
    stamps = [golden.NOW.isoformat().encode(), format_datetime(golden.NOW).encode(),
              format_datetime(golden.NOW, usegmt=True).encode()]
    leaking = [p for p in golden.GOLDEN_PATHS if any(s in rendered[p] for s in stamps)]
    assert leaking == []
    # The check above can fail: the empty feed does show the build time.
    assert golden.NOW.isoformat().encode() in rendered["feeds/labour.atom"]
    assert format_datetime(golden.NOW).encode() in rendered["feeds/labour.rss"]


# --- every golden document is what a reader can read -----------------------------

def golden_bytes(path: str) -> bytes:
    target = GOLDEN_DIR / path
    if not target.exists():
        pytest.skip(f"golden/{path} is missing (test_document_matches_its_golden_file says so)")
    return target.read_bytes()


def feed_url(path: str) -> str:
    return f"{golden.OPTIONS.base_url}/{path}"


XML_GOLDEN = [p for p in golden.GOLDEN_PATHS if p.endswith(XML_SUFFIXES)]
FEED_GOLDEN = [p for p in golden.GOLDEN_PATHS if p.startswith("feeds/")]


@pytest.mark.parametrize("path", XML_GOLDEN)
def test_golden_xml_parses_with_lxml(path):
    root = etree.fromstring(golden_bytes(path))
    assert root.tag in {"rss", "{http://www.w3.org/2005/Atom}feed", "opml"}


@pytest.mark.parametrize("path", [p for p in FEED_GOLDEN if not p.endswith(".json")])
def test_golden_feed_parses_with_feedparser(path):
    body = golden_bytes(path)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    root = etree.fromstring(body)
    count = len(root.findall("channel/item")) + len(root.findall("{http://www.w3.org/2005/Atom}entry"))
    assert len(parsed.entries) == count > 0
    assert all(entry.get("id") and entry.get("link") and entry.get("title") for entry in parsed.entries)


@pytest.mark.parametrize("path", FEED_GOLDEN)
def test_golden_feed_passes_the_offline_validity_checks(path):
    """The reader-conformance suite's checks (RFC 4287 grammar, W3C validator rules,
    the JSON Feed schema), minus the HTTP one: these bytes were never served."""
    fmt = path.rsplit(".", 1)[-1]
    doc = ReaderDocument(url=feed_url(path), fmt=fmt,
                         kind="archive" if "/archive/" in path else "subscription", status=200,
                         headers={"content-type": FEED_MEDIA[f".{fmt}"]}, body=golden_bytes(path))
    problems = [f"{name}: {problem}" for name, check in CHECKS.items() if name != "http"
                for problem in check(doc)]
    assert problems == []


@pytest.mark.parametrize("path", [p for p in golden.GOLDEN_PATHS if p.endswith(".html")])
def test_golden_page_parses_and_names_its_feeds(path):
    page = html.fromstring(golden_bytes(path))
    alternates = page.xpath("//head/link[@rel='alternate']")
    assert alternates and all(link.get("href").startswith("https://feeds.test/feeds/")
                              for link in alternates)


def test_hostile_text_is_never_markup_anywhere():
    for path in golden.GOLDEN_PATHS:
        body = golden_bytes(path)
        assert b"<script>alert" not in body, path
        assert b"<b>not bold</b>" not in body, path
        assert b"<Media>" not in body, path
