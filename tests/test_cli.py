"""The command line: check, build, export, settings, and --help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from feedsvc.cli import main
from tests.conftest import CONTENT, DATA, REPO


@pytest.fixture
def runner(tmp_path, monkeypatch, restored_environ):
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", f"sqlite:///{tmp_path}/s.db")
    monkeypatch.setenv("FEEDSVC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEEDSVC_BUILD_WORKERS", "1")
    return CliRunner()


def test_check_bundled_content_has_no_errors(runner):
    result = runner.invoke(main, ["check", "--content", str(CONTENT)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].endswith("0 errors, 0 warnings")
    assert result.output.startswith("35 articles, 13 topics")


def test_check_reports_path_line_severity_reason_and_fails(runner):
    result = runner.invoke(main, ["check", "--content", str(DATA / "bad")])
    assert result.exit_code == 1
    assert "missing-title.md:1: error: no title: add a `title:` field\n" in result.output


def test_check_json(runner):
    result = runner.invoke(main, ["check", "--content", str(DATA / "bad"), "--format", "json"])
    data = json.loads(result.output)
    assert data["errors"] == len([p for p in data["problems"] if p["severity"] == "error"]) > 20
    assert {"path": "relative-url.md", "file": os.path.relpath(DATA / "bad" / "relative-url.md"),
            "line": 4, "severity": "error",
            "reason": "`url`: '/news/relative' is relative; use an absolute http(s) URL"} in data["problems"]


def test_check_json_says_where_each_topic_came_from(runner):
    result = runner.invoke(main, ["check", "--content", str(CONTENT), "--format", "json"])
    data = json.loads(result.output)
    by_path = {a["path"]: a for a in data["published"]}
    assert len(by_path) == data["articles"] == 35
    # Names "Facial recognition" and "Privacy"; the body speaks of police (a keyword).
    clearview = by_path["2020-01-18-the-secretive-company-that-might-end-privacy-as-we-know-it.md"]
    origins = {t["slug"]: t["origin"] for t in clearview["topics"]}
    assert origins["facial-recognition"] == "named" and origins["privacy"] == "named"
    assert origins.get("criminal-justice") == "keyword"


def test_check_upstream_corpus_reports_non_news_as_info_and_exits_on_the_one_broken_file(
        runner, corpus_dir):
    result = runner.invoke(main, ["check", "--content", str(corpus_dir)])
    infos = [line for line in result.output.splitlines() if ": info: " in line]
    skipped = [line for line in infos if "of type " in line]
    assert [line.split("of type ")[1].split(" ")[0] for line in skipped] == [  # by path
        "`learning", "`book`", "`collection`", "`course`", "`profile`"]
    # the other infos: WordPress's `&#038;` decoded in a URL the article publishes
    assert infos != skipped and all("HTML character references decoded" in line
                                    for line in infos if line not in skipped)
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "project-innereye" in errors[0] and "never closed" in errors[0]
    assert result.exit_code == 1  # that file really is truncated upstream


def test_check_missing_directory_is_one_clear_line(runner, tmp_path):
    result = runner.invoke(main, ["check", "--content", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "content directory does not exist" in result.output


def test_build_then_export(runner, tmp_path):
    result = runner.invoke(main, ["build", "--content", str(CONTENT)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("published generation 1: 35 articles")
    again = runner.invoke(main, ["build", "--content", str(CONTENT)])
    assert again.output.startswith("nothing changed; generation 1 stays current")
    out = tmp_path / "site"
    exported = runner.invoke(main, ["export", str(out)])
    assert exported.exit_code == 0, exported.output
    assert (out / "feeds.opml").is_file() and (out / "feeds/all.atom.gz").is_file()
    assert (out / "feeds/privacy.json").read_bytes().startswith(b'{"version":"https://jsonfeed.org/version/1.1"')


# What a build that finds nothing changed must not import: the libraries and modules
# that only parsing, rendering, serving, checking links or migrating need. Importing
# them was most of the time of such a build.
NOT_FOR_AN_UNCHANGED_BUILD = (
    "flask", "werkzeug", "jinja2", "feedgen", "lxml", "httpx", "markdown_it", "nh3", "frontmatter",
    "apscheduler", "granian", "PIL", "alembic", "psycopg", "watchfiles", "prometheus_client",
    "sqlalchemy.orm", "sqlalchemy.ext", "sqlalchemy.dialects.postgresql",
    "feedsvc.content.parse", "feedsvc.render.site", "feedsvc.render.html", "feedsvc.web",
    "feedsvc.links.checker", "feedsvc.catalog",
)
# Runs the command in this interpreter, then writes the modules it imported to argv[1].
_IMPORTS_OF_BUILD = """
import json, sys
from feedsvc.cli import main
try:
    main(["build"])
except SystemExit as stop:
    assert not stop.code, stop.code
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def test_a_build_that_finds_nothing_changed_imports_neither_parser_nor_renderers(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDSVC_")}
    env.update(FEEDSVC_CONTENT_DIR=str(CONTENT), FEEDSVC_DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
               FEEDSVC_CACHE_DIR=str(tmp_path / "cache"), FEEDSVC_BUILD_WORKERS="1")
    first = subprocess.run([sys.executable, "-m", "feedsvc.cli", "build"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0 and first.stdout.startswith("published generation 1"), first
    listing = tmp_path / "modules.json"
    again = subprocess.run([sys.executable, "-c", _IMPORTS_OF_BUILD, str(listing)], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing changed; generation 1 stays current"), again.stdout
    imported = json.loads(listing.read_text())
    assert imported and "feedsvc.build" in imported
    assert [name for name in imported if any(name == heavy or name.startswith(heavy + ".")
                                             for heavy in NOT_FOR_AN_UNCHANGED_BUILD)] == []


def test_export_before_any_build_says_so(runner, tmp_path):
    result = runner.invoke(main, ["export", str(tmp_path / "site")])
    assert result.exit_code == 1
    assert "nothing has been published yet" in result.output


def test_invalid_setting_is_one_line_and_exit_status_1(runner, monkeypatch):
    monkeypatch.setenv("FEEDSVC_FEED_SIZE", "lots")
    result = runner.invoke(main, ["check", "--content", str(CONTENT)])
    assert result.exit_code == 1
    assert result.stderr == "error: FEEDSVC_FEED_SIZE: expected a whole number, got 'lots'\n"
    assert "Usage:" not in result.output


def _all_commands(group=main, prefix=()):
    import click

    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


@pytest.mark.parametrize("command", [(), *_all_commands()], ids=lambda c: " ".join(c) or "feedsvc")
def test_every_command_has_help_with_examples(runner, command):
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert "Example" in result.output or "Quick start" in result.output


def test_readme_settings_table_matches_the_settings_module():
    from feedsvc.settings import settings_markdown_table

    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- settings-table:start -->\n") + len("<!-- settings-table:start -->\n")
    end = readme.index("<!-- settings-table:end -->")
    assert readme[start:end] == settings_markdown_table()


def test_serve_get_builds_then_answers_one_request_without_a_server(runner):
    result = runner.invoke(main, ["serve", "--content", str(CONTENT), "--get", "/feeds/privacy.atom"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<?xml") and "<feed" in result.stdout
    missing = runner.invoke(main, ["web", "--get", "/feeds/no-such-topic.rss"])
    assert missing.exit_code == 1 and "404" in missing.stderr


def test_web_get_reads_the_published_generation(runner):
    assert runner.invoke(main, ["build", "--content", str(CONTENT)]).exit_code == 0
    result = runner.invoke(main, ["web", "--get", "/api/topics"])
    assert result.exit_code == 0 and json.loads(result.stdout)["topics"][0]["slug"] == "all"


def test_feedsvc_debug_shows_the_traceback_even_when_settings_are_bad(runner, monkeypatch):
    monkeypatch.setenv("FEEDSVC_DATABASE_URL", "nosuchdriver://x")
    plain = runner.invoke(main, ["build", "--content", str(CONTENT)])
    assert plain.exit_code == 1 and plain.stderr.startswith("error: ")
    monkeypatch.setenv("FEEDSVC_DEBUG", "yes")
    debug = runner.invoke(main, ["build", "--content", str(CONTENT)])
    assert debug.exception is not None and not isinstance(debug.exception, SystemExit)
