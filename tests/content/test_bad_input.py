"""The bad-input suite: one directory of broken files beside good ones.

Every broken file must be reported with its exact reason and line, and every
good file beside it must still load: one bad file never costs another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.content import ParseContext, load_content
from tests.conftest import DATA

BAD = DATA / "bad"
NEVER_CLOSED = ("front matter opened with '---' on line 1 is never closed "
                "(add a line with '---' after the last field)")
NO_DATE = ("no publication date: add a `date:` field (or `publishedDateTime:`), "
           "or start the file name with YYYY-MM-DD-")
NO_LINK = "no link: add a `url:` field (or `originalUrl:`) with the address of the original article"

# file -> (line, severity, reason)
EXPECTED = {
    "unclosed-front-matter.md": (1, "error", NEVER_CLOSED),
    # The quote opens on line 2; PyYAML notices at the closing `---` (line 5).
    "invalid-yaml.md": (2, "error", "invalid YAML in front matter: found unexpected end of stream "
                                    "(while scanning a quoted scalar)"),
    "list-front-matter.md": (
        2, "error", "front matter must be a mapping of `field: value` lines, not a list"),
    "scalar-front-matter.md": (
        2, "error", "front matter must be a mapping of `field: value` lines, not a str"),
    "empty-front-matter.md": (1, "error", "front matter is empty"),
    "missing-title.md": (1, "error", "no title: add a `title:` field"),
    "blank-title.md": (2, "error", "the title is empty"),
    "title-is-list.md": (3, "error", "`title` must be text, not a list"),
    "missing-date.md": (1, "error", NO_DATE),
    "impossible-date.md": (4, "error", "`date`: '2024-13-45' is not a valid date (month must be in 1..12)"),
    "garbage-date.md": (4, "error", "`date`: 'next tuesday' is not an ISO 8601 date such as "
                                    "2024-03-13 or 2024-03-13T09:30:00Z"),
    "missing-link.md": (1, "error", NO_LINK),
    "relative-url.md": (4, "error", "`url`: '/news/relative' is relative; use an absolute http(s) URL"),
    "ftp-url.md": (4, "error", "`originalUrl`: 'ftp://example.org/file' uses the scheme 'ftp'; "
                               "only http and https are allowed"),
    "javascript-url.md": (4, "error", "`url`: 'javascript:alert(1)' uses the scheme 'javascript'; "
                                      "only http and https are allowed"),
    "url-with-space.md": (4, "error", "`url`: 'https://example.org/a b' contains white space"),
    "duplicate-id-b.md": (1, "error", "duplicate id 'urn:example:same': already used by "
                                      "duplicate-id-a.md; skipped"),
    # The newer of two files with the same story is the one an editor means.
    "duplicate-url-a.md": (1, "warning", "same original URL as duplicate-url-b.md "
                                         "(https://example.org/same-story); that file is newer "
                                         "(2024-01-03 against 2024-01-01), so it is published "
                                         "and this one is skipped"),
    "not-utf8.md": (5, "error", "not valid UTF-8 (byte 0xe9 at offset 79); save the file as UTF-8"),
    "bad-id.md": (5, "error", "`id` must be a non-empty text"),
    "tab-indented.md": (6, "error", "invalid YAML in front matter: found character that cannot start "
                                    "any token (while scanning for the next token)"),
    "alias-bomb.md": (
        1, "error", "YAML aliases (*name) of lists or mappings are not allowed in front matter"),
    "2024-02-01-empty.txt": (1, "error", "the file is empty"),
    "too-large.md": (None, "error", "file is over the limit of 8,192 bytes (FEEDSVC_MAX_FILE_SIZE)"),
    # Warnings: the article is still published.
    "bom.md": (1, "warning", "file starts with a UTF-8 byte order mark; it was ignored"),
    "control-chars.md": (2, "warning", "removed 2 control character(s) that XML does not allow"),
    "naive-date.md": (4, "warning", "`date` has no time zone; taken as UTC"),
    "updated-before-published.md": (5, "warning", "`updated` is before the publication date; "
                                                  "using the publication date"),
}
SKIPPED_WITH_A_WARNING = {"duplicate-url-a.md"}
WARNED_BUT_PUBLISHED = {name for name, (_, severity, _) in EXPECTED.items()
                        if severity == "warning"} - SKIPPED_WITH_A_WARNING
# A plain-text file with no date publishes: the build dates it (tests/content/test_undated.py).
GOOD = {"good-upstream.md", "good-native.md", "2024-05-05-good-plain.txt", "duplicate-id-a.md",
        "duplicate-url-b.md", "plain-without-date.txt"} | WARNED_BUT_PUBLISHED


@pytest.fixture(scope="module")
def loaded():
    ctx = ParseContext("feedsvc.test,2026", "https://feeds.test", 8192)
    return load_content(BAD, ctx)


def test_suite_is_large_enough():
    assert len(EXPECTED) >= 24
    on_disk = {p.name for p in BAD.iterdir()}
    assert set(EXPECTED) <= on_disk and on_disk >= GOOD


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_reports_exact_reason_and_line(loaded, name):
    line, severity, reason = EXPECTED[name]
    reported = [(p.line, p.severity, p.reason) for p in loaded.problems if p.path == name]
    assert reported == [(line, severity, reason)]


def test_good_files_beside_bad_ones_still_load(loaded):
    assert {Path(a.source).name for a in loaded.articles} == GOOD


def test_unpublished_is_excluded_without_a_problem(loaded):
    assert loaded.excluded == 1
    assert not [p for p in loaded.problems if p.path == "unpublished.md"]
    assert "unpublished.md" not in {a.source for a in loaded.articles}


def test_no_other_problems_are_reported(loaded):
    assert {p.path for p in loaded.problems} == set(EXPECTED)


def test_control_characters_are_gone_from_the_title(loaded):
    article = next(a for a in loaded.articles if a.source == "control-chars.md")
    assert article.title == "Bell and escape"


def test_deeply_nested_front_matter_is_an_error_not_a_crash(ctx):
    from feedsvc.content import parse_article

    data = ("---\ntitle: deep\nx: " + "[" * 20000 + "]" * 20000 + "\n---\n").encode()
    result = parse_article("deep.md", data, ctx)
    assert result.article is None
    assert [p.severity for p in result.problems] == ["error"]
    assert result.problems[0].path == "deep.md"
