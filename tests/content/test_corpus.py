"""Every real upstream file loads, or fails for the reason it really is broken.

The expectations come from reading each file with plain PyYAML, independently
of our loader: what the file says is what the Article must say.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from feedsvc.content import ParseContext, load_content

pytestmark = pytest.mark.corpus
FRONT = re.compile(r"\A---\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def raw_front_matter(path: Path) -> dict | None:
    match = FRONT.match(path.read_text(encoding="utf-8"))
    return yaml.safe_load(match.group(1)) if match else None


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


def test_every_corpus_file_is_accounted_for(loaded):
    corpus, result = loaded
    files = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.md"))
    assert len(files) == 197
    by_source = {a.source: a for a in result.articles}
    errors = {p.path: p for p in result.problems if p.severity == "error"}
    excluded = 0
    seen_urls: set[str] = set()
    for rel in files:
        meta = raw_front_matter(corpus / rel)
        if meta is None:
            assert errors[rel].reason.startswith("front matter opened with '---' on line 1 is never closed")
            continue
        if meta.get("published") is False or meta.get("removed") is True:
            excluded += 1
            assert rel not in by_source and rel not in errors
            continue
        date = meta.get("publishedDateTime") or meta.get("startDateTime")
        if date is None and not re.match(r"\d{4}-\d\d-\d\d-", Path(rel).name):
            assert errors[rel].reason.startswith("no publication date"), rel
            continue
        url = meta.get("originalUrl") or meta.get("webUrl") or meta.get("website")
        if url in seen_urls:
            assert errors[rel].reason.startswith(f"duplicate original URL {url}"), rel
            continue
        seen_urls.add(url)
        article = by_source[rel]
        assert rel not in errors
        assert article.title == (meta.get("title") or meta.get("name")).strip()
        assert article.original_url == url
        if isinstance(date, datetime):
            expected = date if date.tzinfo else date.replace(tzinfo=timezone.utc)
            assert article.published == expected
        assert article.published.tzinfo is not None
        assert len(article.topic_names) == len(set(meta.get("topics") or []))
    assert result.excluded == excluded
    assert set(errors) <= set(files)


def test_truncated_file_reports_line_one(loaded):
    _, result = loaded
    broken = [p for p in result.problems if "never closed" in p.reason]
    assert [(p.path, p.line) for p in broken] == [(
        "archive/news/2020-12-01-project-innereye-evaluation-shows-how-ai-can-augment-and-"
        "accelerate-clinicians-ability-to-perform-radiotherapy-planning-13-times-faster.md", 1)]
