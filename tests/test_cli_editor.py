"""The editor's commands: `new`, `topics`, `preview`, and what `build` says while it works."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime

import feedparser
import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from tests.conftest import CONTENT


@pytest.fixture
def runner(tmp_path, monkeypatch, restored_environ):
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path}/s.db")
    monkeypatch.setenv("FEEDSVC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEEDSVC_BUILD_WORKERS", "1")
    return CliRunner()


@pytest.fixture
def site(tmp_path, monkeypatch):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    monkeypatch.chdir(tmp_path)
    return content


def _new(runner, *extra):
    return runner.invoke(main, ["new", "Regulators fine a face-matching firm: \"£7.5m\"",
                                "--url", "https://example.org/fine", "--topic", "face recognition",
                                "--topic", "privacy", *extra])


def test_new_writes_a_dated_article_with_an_explicit_id_that_checks_clean(runner, site):
    before = datetime.now(UTC).date()
    result = _new(runner, "--source", "Example News")
    assert result.exit_code == 0, result.output
    written = sorted(set(site.glob("*.md")) - set(CONTENT.glob("*.md")),
                     key=lambda p: p.name)
    written = [p for p in written if not (CONTENT / p.name).exists()]
    assert len(written) == 1
    path = written[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d-regulators-fine-a-face-matching-firm-7-5m\.md", path.name)
    assert path.name[:10] in (before.isoformat(), datetime.now(UTC).date().isoformat())
    assert result.stdout.startswith(f"wrote content/{path.name}")
    text = path.read_text()
    assert f"\nid: tag:feedsvc.example,2026:articles/{path.stem}\n" in text
    assert '\ntopics: ["Facial recognition", "Privacy and data protection"]\n' in text
    assert '\nsource: "Example News"\n' in text
    check = runner.invoke(main, ["check", f"content/{path.name}"])
    assert check.exit_code == 0 and check.stdout == "1 file(s) checked: 0 errors, 0 warnings\n"
    # And it publishes as written: the title with its quotes, in the topics it names.
    assert runner.invoke(main, ["build"]).exit_code == 0
    feed = feedparser.parse(runner.invoke(main, ["web", "--get", "/feeds/privacy.atom"]).stdout_bytes)
    entry = next(e for e in feed.entries if e.id.endswith(path.stem))
    assert entry.title == 'Regulators fine a face-matching firm: "£7.5m"'
    assert entry.link == "https://example.org/fine" and entry.author == "Example News"


def test_new_refuses_an_unknown_topic_with_a_did_you_mean_and_a_bad_url(runner, site):
    typo = runner.invoke(main, ["new", "X", "--url", "https://example.org/x", "--topic", "privcy"])
    assert typo.exit_code == 1
    assert typo.stderr == ("error: --topic: 'privcy' is not in topics.yml (did you mean 'privacy'?); "
                           "`feedsvc topics` lists them\n")
    bad = runner.invoke(main, ["new", "X", "--url", "javascript:alert(1)", "--topic", "privacy"])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --url: 'javascript:alert(1)' uses")
    assert sorted(p.name for p in site.iterdir()) == sorted(p.name for p in CONTENT.iterdir())
    assert _new(runner).exit_code == 0
    again = _new(runner)
    assert again.exit_code == 1 and "exists already" in again.stderr


def test_topics_lists_the_taxonomy_with_counts_and_the_undeclared_names(runner, site):
    check = json.loads(runner.invoke(main, ["check", "--format", "json"]).stdout)
    counts: dict[str, int] = {}
    for article in check["published"]:
        for topic in article["topics"]:
            counts[topic["slug"]] = counts.get(topic["slug"], 0) + 1
    (site / "2026-01-04-typo.md").write_text(
        "---\ntitle: Typo\ndate: 2026-01-04T09:00:00Z\nurl: https://example.org/typo\n"
        "topics: [Survelliance, Privacy]\n---\n")
    result = runner.invoke(main, ["topics"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["slug", "articles", "title"]
    rows = {line.split()[0]: int(line.split()[1]) for line in lines[1:14]}
    counts["privacy"] += 1
    assert rows == counts and len(rows) == 13
    assert "facial-recognition" in rows
    assert any(line.startswith("surveillance") and "(aliases: Mass surveillance" in line
               for line in lines)
    assert "  'Survelliance': 1 article(s); did you mean 'Surveillance'?" in lines
    assert lines[-1] == "13 topics in topics.yml, 36 articles"


def test_preview_prints_the_entry_exactly_as_the_published_feeds_hold_it(runner, site):
    name = "2020-01-18-the-secretive-company-that-might-end-privacy-as-we-know-it.md"
    result = runner.invoke(main, ["preview", f"content/{name}"])
    assert result.exit_code == 0, result.output
    sections = re.split(r"^==> .* <==$", result.stdout, flags=re.M)[1:]
    headers = re.findall(r"^==> (.*) <==$", result.stdout, flags=re.M)
    assert headers == ["RSS 2.0 (application/rss+xml)", "Atom 1.0 (application/atom+xml)",
                       "JSON Feed 1.1 (application/feed+json)"]
    rss, atom, jsonfeed = (s.strip() for s in sections)
    assert runner.invoke(main, ["build"]).exit_code == 0

    def published(path: str) -> str:
        return runner.invoke(main, ["web", "--get", path]).stdout

    assert rss.startswith("<item>") and rss in published("/feeds/all.rss")
    assert atom.startswith("<entry>") and atom in published("/feeds/all.atom")
    feed = json.loads(published("/feeds/all.json"))
    item = next(i for i in feed["items"] if i["id"] == json.loads(jsonfeed)["id"])
    assert json.loads(jsonfeed) == item
    only = runner.invoke(main, ["preview", f"content/{name}", "--format", "atom"])
    assert re.findall(r"^==> (.*) <==$", only.stdout, flags=re.M) == ["Atom 1.0 (application/atom+xml)"]


def test_preview_of_a_broken_file_shows_its_problems_and_fails(runner, site):
    (site / "broken.md").write_text("---\ntitle: Broken\nurl: ftp://example.org/x\n---\n")
    result = runner.invoke(main, ["preview", "content/broken.md"])
    assert result.exit_code == 1
    assert "content/broken.md:1: error: no publication date" in result.stderr
    assert "content/broken.md:3: error: `originalUrl`" not in result.stderr
    assert "content/broken.md:3: error: `url`: 'ftp://example.org/x' uses the scheme 'ftp'" in result.stderr
    assert result.stderr.rstrip().endswith("content/broken.md would not be published "
                                           "(see the problems above)")


def test_build_progress_covers_publishing_and_the_end_counts_warnings(runner, tmp_path, monkeypatch):
    content = tmp_path / "many"
    shutil.copytree(CONTENT, content)
    for n in range(260):
        (content / f"2025-01-01-bulk-{n:03d}.md").write_text(
            f"---\ntitle: Bulk {n}\nurl: https://example.org/bulk/{n}\ntopics: [Privacy]\n"
            f"{'colour: blue' if n < 3 else ''}\n---\nText.\n")
    result = runner.invoke(main, ["build", "--content", str(content)])
    assert result.exit_code == 0, result.output
    parsing = [line for line in result.stderr.splitlines() if line.startswith("parsing ")]
    publishing = [line for line in result.stderr.splitlines() if line.startswith("publishing ")]
    assert parsing[-1] == "parsing 295/295 files"
    done, total = map(int, publishing[-1].split()[1].split("/"))
    assert done == total and publishing[-1].endswith(" documents")
    report = re.search(r"(\d+) documents \((\d+) written", result.stdout)
    assert report is not None and int(report.group(1)) == total  # the bar's total was exact
    assert result.stdout.splitlines()[-1] == (
        "3 warnings (not shown): `feedsvc check` lists them with their path and line, "
        "as does /status")
