"""The two files the product was specified from (../shared/seeds) publish as specified.

`000_…txt`: upstream front matter in a `.txt` named without a date. `003_…txt`:
a bare plain-text article with no metadata at all, pasted with its page
clutter (a photo caption and credit, a newsletter footer).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.build import Builder
from feedsvc.store import Store
from tests.conftest import CONTENT, REPO

SEEDS = REPO.parent / "shared" / "seeds"
SEED_000 = "000_10ba942a789541d2.txt"
SEED_003 = "003_d0ac93be030b5dd0.txt"


@pytest.fixture
def seeds_dir() -> Path:
    if not (SEEDS / SEED_000).is_file() or not (SEEDS / SEED_003).is_file():
        pytest.skip(f"the seed articles are not beside this checkout ({SEEDS})")
    return SEEDS


def content_with_seeds(root: Path, seeds: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(CONTENT / "topics.yml", root / "topics.yml")
    for name in (SEED_000, SEED_003):
        shutil.copy(seeds / name, root / name)
    return root


def published_items(store: Store) -> dict[str, dict]:
    _doc, body = store.read("feeds/all.json")
    return {item["id"]: item for item in json.loads(body)["items"]}


def build(settings) -> tuple[Store, dict[str, dict]]:
    store = Store(settings.database_url)
    store.create()
    report = Builder(settings, store).build()
    assert report.status in ("published", "unchanged")
    assert report.errors == 0, report.problems
    return store, published_items(store)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "Editor", "GIT_AUTHOR_EMAIL": "e@example.org",
                               "GIT_COMMITTER_NAME": "Editor", "GIT_COMMITTER_EMAIL": "e@example.org",
                               "GIT_AUTHOR_DATE": "2022-05-06T07:08:09+00:00",
                               "GIT_COMMITTER_DATE": "2022-05-06T07:08:09+00:00",
                               "PATH": "/usr/bin:/bin", "HOME": str(cwd)}).stdout


def test_seed_000_is_one_entry_with_its_date_link_outlet_image_and_related(
        tmp_path, settings_for, seeds_dir):
    _, items = build(settings_for(content_with_seeds(tmp_path / "content", seeds_dir)))
    item = items["tag:feedsvc.test,2026:articles/000_10ba942a789541d2"]
    assert item["date_published"] == "2021-04-18T10:20:00+00:00"
    assert item["url"] == ("https://thenextweb.com/news/"
                           "heres-why-we-should-never-trust-ai-to-identify-our-emotions-syndication")
    assert item["authors"] == [{"name": "The Next Web", "url": "https://thenextweb.com/"}]
    assert item["image"].startswith("https://img-cdn.tnwcdn.com/image/neural?")
    assert item["_feedsvc"]["related"][0]["url"] == (
        "https://theconversation.com/ai-is-increasingly-being-used-to-identify-emotions-"
        "heres-whats-at-stake-158809")


def test_seed_003_publishes_without_its_page_clutter(tmp_path, settings_for, seeds_dir):
    _, items = build(settings_for(content_with_seeds(tmp_path / "content", seeds_dir)))
    item = items["tag:feedsvc.test,2026:articles/003_d0ac93be030b5dd0"]
    assert item["title"] == "Human Rights Groups Are Protesting Zoom’s Emotion Recognition Tech"
    assert item["summary"] == ('Over two dozen groups want the video conferencing company to '
                               '"abandon plans to mine users for emotional data points"')
    assert item["url"] == "https://feeds.test/articles/003_d0ac93be030b5dd0"
    html = item["content_html"]
    assert html.startswith("<p>Over two dozen human rights groups have banded together")
    assert "commit to not implementing emotion AI by May 20, 2022." in html
    for clutter in ("Alistair Berg / Getty", "Video call from home during lockdown",
                    "Would you want AI examining", "InsideHook Newsletter",
                    "most interesting person in the room"):
        assert clutter not in html
    assert "Emotion recognition" in item["tags"]


def test_seed_003_date_and_id_hold_across_rebuilds_and_a_second_store(
        tmp_path, settings_for, seeds_dir):
    content = content_with_seeds(tmp_path / "content", seeds_dir)
    settings = settings_for(content)
    _store, first = build(settings)
    key = "tag:feedsvc.test,2026:articles/003_d0ac93be030b5dd0"
    date = first[key]["date_published"]
    (content / "2024-01-01-another.txt").write_text("Another\n\nA standfirst.\n\nBody.\n")
    _store, again = build(settings)  # a rebuild that publishes something else
    assert again[key]["date_published"] == date
    # Not in git: a second store sees the file for the first time now, later.
    other = settings_for(content, database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}",
                         cache_dir=tmp_path / "other-cache")
    _, elsewhere = build(other)
    assert key in elsewhere and elsewhere[key]["date_published"] >= date


def test_seed_003_date_comes_from_git_and_holds_in_a_fresh_clone(tmp_path, settings_for, seeds_dir):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    origin = tmp_path / "origin"
    content = content_with_seeds(origin / "content", seeds_dir)
    git("init", "-q", cwd=origin)
    git("add", ".", cwd=origin)
    git("commit", "-qm", "Add the seed articles", cwd=origin)
    key = "tag:feedsvc.test,2026:articles/003_d0ac93be030b5dd0"
    _, first = build(settings_for(content))
    assert first[key]["date_published"] == "2022-05-06T07:08:09+00:00"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    second = settings_for(clone / "content", database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
                          cache_dir=tmp_path / "clone-cache")
    store, again = build(second)
    assert again[key]["date_published"] == "2022-05-06T07:08:09+00:00"
    assert again[key]["id"] == first[key]["id"]
    report = store.last_report()
    warnings = [p["reason"] for p in report["problems"] if p["path"] == SEED_003]
    assert warnings and "the date of the commit that added the file" in warnings[0]
    assert f"id: {key}" in warnings[0]


def test_a_date_once_recorded_does_not_move_when_the_file_is_committed_later(
        tmp_path, settings_for, seeds_dir):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    content = content_with_seeds(repo / "content", seeds_dir)
    git("init", "-q", cwd=repo)
    settings = settings_for(content)
    key = "tag:feedsvc.test,2026:articles/003_d0ac93be030b5dd0"
    before = datetime.now(UTC).replace(microsecond=0)
    _, first = build(settings)
    seen = datetime.fromisoformat(first[key]["date_published"])
    assert seen >= before  # first seen now: git has no commit for it yet
    git("add", ".", cwd=repo)
    git("commit", "-qm", "Commit later", cwd=repo)  # dated 2022 by the fixture
    (content / "2024-01-01-another.txt").write_text("Another\n\nA standfirst.\n\nBody.\n")
    _, again = build(settings)
    assert again[key]["date_published"] == first[key]["date_published"]
