"""`feedsvc check` as an editor uses it: named files, every problem, clickable paths,
did-you-mean for misspelt fields, topics and settings, and renames caught early."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from tests.conftest import CONTENT, DATA

EDITOR = DATA / "editor"


@pytest.fixture
def runner(tmp_path, monkeypatch, restored_environ):
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path}/s.db")
    monkeypatch.setenv("FEEDSVC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEEDSVC_BUILD_WORKERS", "1")
    return CliRunner()


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A copy of the bundled content under tmp_path/content, run from tmp_path."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    monkeypatch.chdir(tmp_path)
    return content


def _lines(output: str) -> list[str]:
    return output.strip().splitlines()


def test_check_one_file_reports_every_problem_with_a_path_relative_to_the_current_directory(
        runner, site):
    shutil.copy(EDITOR / "three-problems.md", site / "three-problems.md")
    result = runner.invoke(main, ["check", "content/three-problems.md"])
    assert result.exit_code == 1
    assert _lines(result.stdout) == [
        "content/three-problems.md:3: warning: unknown field `sumary` (did you mean `summary`?); "
        "it is ignored",
        "content/three-problems.md:4: error: `date`: 'next tuesday' is not an ISO 8601 date such as "
        "2024-03-13 or 2024-03-13T09:30:00Z",
        "content/three-problems.md:5: error: `url`: 'javascript:alert(1)' uses the scheme "
        "'javascript'; only http and https are allowed",
        "1 file(s) checked: 2 errors, 1 warnings",
    ]


def test_check_several_files_shows_only_theirs_and_passes_when_they_are_clean(runner, site):
    shutil.copy(EDITOR / "three-problems.md", site / "three-problems.md")
    clean = sorted(site.glob("*.md"))[0]
    only_clean = runner.invoke(main, ["check", str(clean.relative_to(site.parent))])
    assert only_clean.exit_code == 0, only_clean.output
    assert _lines(only_clean.stdout) == ["1 file(s) checked: 0 errors, 0 warnings"]
    both = runner.invoke(main, ["check", "content/three-problems.md", str(clean)])
    assert both.exit_code == 1
    assert {line.split(":")[0] for line in _lines(both.stdout)[:-1]} == {"content/three-problems.md"}
    assert _lines(both.stdout)[-1] == "2 file(s) checked: 2 errors, 1 warnings"


def test_check_whole_directory_prints_paths_relative_to_the_current_directory(runner, site):
    shutil.copy(EDITOR / "three-problems.md", site / "three-problems.md")
    result = runner.invoke(main, ["check", "--content", "content"])
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in _lines(result.stdout)[:-1]] == [
        "content/three-problems.md"] * 3


def test_check_a_file_outside_the_content_directory_uses_its_topics(runner, site):
    result = runner.invoke(main, ["check", str(EDITOR / "topic-typo.md")])
    lines = _lines(result.stdout)
    assert result.exit_code == 0, result.output  # warnings only
    assert all(line.startswith(f"{EDITOR / 'topic-typo.md'}".lstrip("/")) or
               line.split(":")[0].endswith("tests/data/editor/topic-typo.md") for line in lines[:-1])
    text = "\\n".join(lines)
    assert "unknown field `tite` (did you mean `title`?); it is ignored" in text
    assert "topic-typo.md:6: warning: topic 'Privcy' (named here) is not in topics.yml " \
        "(did you mean 'privacy'?); no feed" in text  # the line that names it
    assert ("topic 'Facial recogniton' (named here) is not in topics.yml "
            "(did you mean 'Facial recognition'?)") in text


def test_unclosed_quote_is_blamed_on_the_line_where_it_opens(runner, site):
    shutil.copy(EDITOR / "unclosed-quote.md", site / "unclosed-quote.md")
    result = runner.invoke(main, ["check", "content/unclosed-quote.md"])
    assert result.exit_code == 1
    assert _lines(result.stdout)[0] == (
        "content/unclosed-quote.md:3: error: invalid YAML in front matter: found unexpected end "
        "of stream (while scanning a quoted scalar)")


def test_a_typo_in_a_topic_makes_no_feed_by_default(runner, site):
    shutil.copy(EDITOR / "topic-typo.md", site / "topic-typo.md")
    built = runner.invoke(main, ["build"])
    assert built.exit_code == 0, built.output
    feed = runner.invoke(main, ["web", "--get", "/feeds/privcy.rss"])
    assert feed.exit_code == 1 and "404" in feed.stderr


def test_misspelt_feedsvc_variable_is_warned_with_the_setting_meant(runner, site, monkeypatch):
    monkeypatch.setenv("FEEDSVC_FEEDSIZE", "10")
    monkeypatch.setenv("FEEDSVC_NOTHING_LIKE_ANY", "1")
    result = runner.invoke(main, ["topics"])
    assert result.exit_code == 0, result.output
    assert _lines(result.stderr) == [
        "warning: FEEDSVC_FEEDSIZE is not a feedsvc setting (did you mean FEEDSVC_FEED_SIZE?); "
        "it is ignored (`feedsvc settings` lists them)",
        "warning: FEEDSVC_NOTHING_LIKE_ANY is not a feedsvc setting; it is ignored "
        "(`feedsvc settings` lists them)",
    ]


def test_renaming_a_published_file_is_warned_with_the_id_that_keeps_it(runner, site):
    assert runner.invoke(main, ["build"]).exit_code == 0
    old = site / "2020-01-18-the-secretive-company-that-might-end-privacy-as-we-know-it.md"
    new = site / "2020-01-18-clearview.md"
    old.rename(new)
    result = runner.invoke(main, ["check", str(new.relative_to(site.parent))])
    old_id = "tag:feedsvc.example,2026:articles/" + old.stem
    assert _lines(result.stdout)[0] == (
        f"content/{new.name}:1: warning: looks like {old.name} renamed (same URL "
        "https://www.nytimes.com/2020/01/18/technology/clearview-privacy-facial-recognition.html): "
        f"its id '{old_id}' is published and no file has it any more, so this file would reach "
        "every subscriber again as a new item 'tag:feedsvc.example,2026:articles/2020-01-18-clearview'"
        f". To keep the published identity, add `id: {old_id}` to the front matter")
    text = new.read_text()
    new.write_text(text.replace("---\n", f"---\nid: {old_id}\n", 1))
    kept = runner.invoke(main, ["check", str(new)])
    assert kept.exit_code == 0 and _lines(kept.stdout) == ["1 file(s) checked: 0 errors, 0 warnings"]


def test_a_file_renamed_and_renamed_back_is_no_rename(runner, site):
    """Back under its first name the file has the id readers first saw: warning that it
    'looks like' the short-lived name renamed, and pinning it to that id, would be wrong."""
    assert runner.invoke(main, ["build"]).exit_code == 0
    first = site / "2020-01-18-the-secretive-company-that-might-end-privacy-as-we-know-it.md"
    second = site / "2020-01-18-clearview.md"
    first.rename(second)
    renamed = runner.invoke(main, ["build"])
    assert renamed.exit_code == 0, renamed.output
    assert f"content/{second.name}:1: warning: looks like {first.name} renamed" in renamed.stderr
    assert "warnings (not shown)" not in renamed.stdout  # the one warning was shown
    second.rename(first)
    back = runner.invoke(main, ["build"])
    assert back.exit_code == 0, back.output
    assert "renamed" not in back.output and "0 warnings" in back.stdout
    check = runner.invoke(main, ["check"])
    assert check.exit_code == 0 and "renamed" not in check.output, check.output


def test_check_says_the_date_the_store_recorded_for_an_undated_file(runner, site, tmp_path):
    """`check` reads the recorded date (what the feeds carry) instead of proposing 'now'."""
    (site / "our-note.txt").write_text("Our note\n\nA standfirst.\n\nThe body.\n")
    built = runner.invoke(main, ["build"])
    assert built.exit_code == 0, built.output
    recorded = runner.invoke(main, ["web", "--get", "/feeds/all.json"])
    item = next(i for i in json.loads(recorded.stdout)["items"] if i["title"] == "Our note")
    when = datetime.fromisoformat(item["date_published"])
    checked = runner.invoke(main, ["check", "content/our-note.txt"])
    assert _lines(checked.stdout)[0] == (
        f"content/our-note.txt:1: warning: no date in the file: published as "
        f"{when:%Y-%m-%d %H:%M}Z, the date recorded when feedsvc first published it; to choose "
        "the date, rename the file YYYY-MM-DD-our-note.txt (this changes its id) or give it "
        "front matter with `date:` and `id: tag:feedsvc.example,2026:articles/our-note`")


def test_an_undated_plain_text_article_is_dated_by_a_header_and_stays_our_own(runner, site):
    """What the undated warning advises: front matter with `date:` and `id:` only. The
    title, standfirst and body still come from the text; the item links to our page."""
    note = site / "our-note.txt"
    note.write_text("Our note\n\nA standfirst.\n\nThe body.\n")
    assert runner.invoke(main, ["build"]).exit_code == 0
    note.write_text("---\nid: tag:feedsvc.example,2026:articles/our-note\n"
                    "date: 2026-05-04T10:00:00Z\ntopics: [Privacy]\n---\n"
                    "Our note\n\nA standfirst.\n\nThe body.\n")
    checked = runner.invoke(main, ["check", "content/our-note.txt"])
    assert _lines(checked.stdout) == ["1 file(s) checked: 0 errors, 0 warnings"], checked.output
    built = runner.invoke(main, ["build"])
    assert built.exit_code == 0 and "0 errors" in built.stdout, built.output
    feed = json.loads(runner.invoke(main, ["web", "--get", "/feeds/privacy.json"]).stdout)
    item = next(i for i in feed["items"] if i["title"] == "Our note")
    assert item["id"] == "tag:feedsvc.example,2026:articles/our-note"
    assert item["date_published"] == "2026-05-04T10:00:00+00:00"
    assert item["summary"] == "A standfirst."
    assert item["url"].endswith("/articles/our-note")
    assert "The body." in item["content_html"] and "Our note" not in item["content_html"]


def test_check_topics_and_preview_say_what_is_scheduled_and_when(runner, site):
    (site / "2099-01-01-later.md").write_text(
        "---\ntitle: Later\ndate: 2099-01-01T09:00:00Z\nexpiryDate: 2099-02-01T00:00:00Z\n"
        "url: https://news.example/later\ntopics: [Privacy]\n---\nNot yet.\n")
    check = runner.invoke(main, ["check", "content/2099-01-01-later.md"])
    assert check.exit_code == 0, check.output
    assert check.output.splitlines()[:2] == [
        "content/2099-01-01-later.md: scheduled: publishes at 2099-01-01T09:00:00+00:00 'Later'",
        "content/2099-01-01-later.md: scheduled: expires at 2099-02-01T00:00:00+00:00 'Later'"]
    whole = runner.invoke(main, ["check"])
    assert "1 scheduled" in whole.output.splitlines()[-1]
    topics = runner.invoke(main, ["topics"])
    assert "  2099-01-01T09:00:00+00:00  publish  2099-01-01-later.md [Privacy]" in topics.output
    assert topics.output.rstrip().endswith("1 scheduled")
    preview = runner.invoke(main, ["preview", "content/2099-01-01-later.md", "--format", "json"])
    assert preview.exit_code == 0, preview.output
    assert "scheduled: in no feed until 2099-01-01T09:00:00+00:00" in preview.output
    assert '"title":"Later"' in preview.output
    build = runner.invoke(main, ["build"])
    assert build.exit_code == 0, build.output
    assert ("2 scheduled change(s), the next at 2099-01-01T09:00:00+00:00 (publish "
            "2099-01-01-later.md)") in build.output


def test_check_json_gives_each_path_as_the_text_lines_show_it(runner, site):
    """`path` stays relative to the content directory (as /status says it); `file` is the
    path the text lines print, relative to the current directory, so a tool can open it."""
    shutil.copy(EDITOR / "three-problems.md", site / "three-problems.md")
    text = runner.invoke(main, ["check", "content/three-problems.md"])
    data = json.loads(runner.invoke(main, ["check", "--format", "json"]).stdout)
    mine = [p for p in data["problems"] if p["path"] == "three-problems.md"]
    assert [f"{p['file']}:{p['line']}: {p['severity']}: {p['reason']}" for p in mine] == \
        _lines(text.stdout)[:-1]
    assert all(a["file"] == f"content/{a['path']}" for a in data["published"])
