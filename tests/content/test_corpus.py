"""Every real upstream file loads, or fails for the reason it really is broken.

The expectations come from reading each file with plain PyYAML, independently
of our loader: what the file says is what the Article must say.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from feedsvc.content import ParseContext, load_content

pytestmark = pytest.mark.corpus
FRONT = re.compile(r"\A---\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def raw_front_matter(path: Path) -> dict | None:
    match = FRONT.match(path.read_text(encoding="utf-8"))
    return yaml.safe_load(match.group(1)) if match else None


def as_published(url: str) -> str:
    """A front-matter URL as every format must carry it: WordPress's `&#038;` (upstream
    writes no other reference in URLs) read as the `&` it stands for, an empty path
    as `/` (RFC 3986 6.2.3)."""
    parts = urlsplit(url.replace("&#038;", "&"))
    return urlunsplit(parts._replace(path=parts.path or "/"))


def published_urls(path: Path) -> list[str]:
    """The front-matter URLs an article publishes: its link, its lead image (the first
    of `images`), its related links; not the images of related stories."""
    meta = raw_front_matter(path) or {}
    urls = [meta.get(k) for k in ("url", "originalUrl", "webUrl", "website")]
    images = meta.get("images") or []
    urls.append(images[0].get("url") if images and isinstance(images[0], dict) else None)
    urls += [r.get("url") for r in meta.get("related") or [] if isinstance(r, dict)]
    return [u for u in urls if isinstance(u, str)]


@pytest.fixture(scope="module")
def loaded(request):
    corpus = request.getfixturevalue("corpus_dir")
    return corpus, load_content(corpus, ParseContext("feedsvc.test,2026", "https://feeds.test", 1_048_576))


@pytest.fixture(scope="module")
def corpus_dir():
    from tests.conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"the upstream corpus is not beside this checkout ({CORPUS})")
    return CORPUS


NOT_NEWS = {"profile", "course", "book", "collection"}
DATED_NAME = re.compile(r"(\d{4})-(\d\d)-(\d\d)-")


def expected_date(rel: str, meta: dict) -> datetime | None:
    """publishedDateTime, else the file name's date; an event's start is not its date."""
    date = meta.get("publishedDateTime")
    if isinstance(date, datetime):
        return date if date.tzinfo else date.replace(tzinfo=UTC)
    match = DATED_NAME.match(Path(rel).name)
    if match:
        return datetime(*map(int, match.groups()), tzinfo=UTC)
    return None


def test_every_corpus_file_is_accounted_for(loaded):
    corpus, result = loaded
    files = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.md"))
    assert len(files) == 197
    by_source = {a.source: a for a in result.articles}
    errors = {p.path: p for p in result.problems if p.severity == "error"}
    warnings = {p.path: p for p in result.problems if p.severity == "warning"}
    excluded = 0
    skipped_kinds: dict[str, int] = {}
    candidates: dict[str, tuple[dict, datetime]] = {}
    for rel in files:
        meta = raw_front_matter(corpus / rel)
        if meta is None:
            assert errors[rel].reason.startswith("front matter opened with '---' on line 1 is never closed")
            continue
        if meta.get("published") is False or meta.get("removed") is True:
            excluded += 1
            assert rel not in by_source and rel not in errors
            continue
        date = expected_date(rel, meta)
        kind = meta.get("type")
        if kind in NOT_NEWS or (meta.get("levels") and date is None):
            excluded += 1
            skipped_kinds[kind if kind in NOT_NEWS else "learning resource"] = \
                skipped_kinds.get(kind if kind in NOT_NEWS else "learning resource", 0) + 1
            assert rel not in by_source and rel not in errors
            continue
        if date is None:
            assert errors[rel].reason.startswith("no publication date"), rel
            continue
        candidates[rel] = (meta, date)
    # Two files with one original URL: the newer (then the first by path) is published.
    by_url: dict[str, list[str]] = {}
    for rel, (meta, _date) in candidates.items():
        url = meta.get("originalUrl") or meta.get("webUrl") or meta.get("website")
        by_url.setdefault(url, []).append(rel)
    for url, group in by_url.items():
        group.sort(key=lambda rel: (-candidates[rel][1].timestamp(), rel))
        winner, *losers = group
        for rel in losers:
            assert rel not in by_source
            assert warnings[rel].reason.startswith(f"same original URL as {winner} ({url})"), rel
        meta, date = candidates[winner]
        article = by_source[winner]
        assert winner not in errors
        assert article.title == (meta.get("title") or meta.get("name")).strip()
        assert article.original_url == as_published(url)
        assert article.published == date
        assert article.published.tzinfo is not None
        assert len(article.topic_names) == len(set(meta.get("topics") or []))
        start = meta.get("startDateTime")
        if isinstance(start, datetime):
            assert article.event is not None and article.event.start == start
    assert result.excluded == excluded
    assert set(errors) <= set(files)
    decoded = {p.path for p in result.problems if p.severity == "info" and "references decoded" in p.reason}
    escaped = {rel for rel in by_source if any("&#038;" in url for url in published_urls(corpus / rel))}
    assert decoded == escaped and escaped, "each published file with WordPress's `&#038;` is told"
    info = sorted(p.reason for p in result.problems
                  if p.severity == "info" and "references decoded" not in p.reason)
    assert info == sorted(
        f"skipped {count} file(s) of type `{kind}` "
        f"({next(p.path for p in result.problems if p.severity == 'info' and f'`{kind}`' in p.reason)}"
        f"{f' and {count - 1} more' if count > 1 else ''}): not news, so not published"
        for kind, count in skipped_kinds.items())
    assert set(skipped_kinds) == {"profile", "course", "book", "collection", "learning resource"}


def test_the_only_error_in_the_corpus_is_the_truncated_file(loaded):
    _, result = loaded
    assert [p.reason[:40] for p in result.problems if p.severity == "error"] == [
        "front matter opened with '---' on line 1"]


def test_truncated_file_reports_line_one(loaded):
    _, result = loaded
    broken = [p for p in result.problems if "never closed" in p.reason]
    assert [(p.path, p.line) for p in broken] == [(
        "archive/news/2020-12-01-project-innereye-evaluation-shows-how-ai-can-augment-and-"
        "accelerate-clinicians-ability-to-perform-radiotherapy-planning-13-times-faster.md", 1)]
