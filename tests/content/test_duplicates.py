"""One story per original URL, decided at the build's time.

The case that made this a module: an event is rescheduled and the editor
writes a new file, dated later, with the same original URL. Until its date
the new file is scheduled, and the old one must stay in the feeds: before,
the newer file won the URL at once and the story was in no feed at all until
the new date. Feeds are read back with feedparser.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser

from feedsvc.build import Builder
from feedsvc.content.duplicates import drop_duplicates, story_key
from feedsvc.models import Article, Severity
from feedsvc.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
URL = "https://events.example/summit"


def article(name: str, published: datetime, url: str = URL,
            expires: datetime | None = None) -> Article:
    return Article(id=name, stem=name, source=f"{name}.md", title=name.title(), summary="",
                   content_html="", published=published, updated=published, original_url=url,
                   self_published=False, topic_names=(), expires=expires)


def test_a_scheduled_file_does_not_take_the_story_from_a_published_one():
    old = article("old", NOW - timedelta(days=3))
    new = article("new", NOW + timedelta(days=2))
    kept, problems = drop_duplicates([old, new], NOW)
    assert [a.id for a in kept] == ["old", "new"]  # the calendar leaves `new` out until its date
    assert [(p.path, p.severity, p.reason) for p in problems] == [
        ("old.md", Severity.INFO,
         "new.md has the same original URL and is scheduled for 2026-06-03 12:00 UTC: "
         "it replaces this one then")]


def test_once_due_the_newer_file_wins_and_says_which_one_it_replaced():
    old = article("old", NOW - timedelta(days=3))
    new = article("new", NOW + timedelta(days=2))
    kept, problems = drop_duplicates([old, new], NOW + timedelta(days=2))
    assert [a.id for a in kept] == ["new"]
    assert [(p.path, p.severity) for p in problems] == [("old.md", Severity.WARNING)]
    assert problems[0].reason.startswith(f"same original URL as new.md ({URL}); that file is newer "
                                         "(2026-06-03 against 2026-05-29)")


def test_an_expired_file_does_not_take_the_story_from_a_published_one():
    old = article("old", NOW - timedelta(days=30))
    gone = article("gone", NOW - timedelta(days=2), expires=NOW - timedelta(days=1))
    kept, problems = drop_duplicates([old, gone], NOW)
    assert [a.id for a in kept] == ["old", "gone"] and problems == []


def test_without_a_calendar_every_file_competes():
    old = article("old", NOW - timedelta(days=3))
    new = article("new", NOW + timedelta(days=2))
    kept, problems = drop_duplicates([old, new], None)
    assert [a.id for a in kept] == ["new"] and [p.path for p in problems] == ["old.md"]


def test_the_same_story_is_one_key_whatever_the_scheme_host_case_or_trailing_slash():
    assert story_key("https://Events.Example/summit/") == story_key("http://events.example/summit")
    assert story_key("https://events.example/summit") != story_key("https://events.example/summit-2")


def test_duplicate_ids_are_refused_whatever_the_dates():
    first = article("same", NOW - timedelta(days=1), url="https://a.example/1")
    second = article("same", NOW + timedelta(days=1), url="https://a.example/2")
    second = replace(second, source="z/same.md")
    kept, problems = drop_duplicates([first, second], NOW)
    assert [a.source for a in kept] == ["same.md"]
    assert [(p.path, p.reason) for p in problems] == [
        ("z/same.md", "duplicate id 'same': already used by same.md; skipped")]


def story(title: str, when: datetime) -> str:
    return (f"---\ntitle: {title}\ndate: {when.isoformat()}\nurl: {URL}\n"
            f"tags: [Privacy]\n---\nBody of {title}.\n")


def test_the_feeds_keep_the_published_story_until_the_rescheduled_one_is_due(write, settings_for):
    write("summit-march.md", story("Summit in March", NOW - timedelta(days=3)))
    write("summit-june.md", story("Summit moved to June", NOW + timedelta(days=2)))
    settings = settings_for(write.root)
    store = Store(settings.database_url)
    store.create()
    builder = Builder(settings, store)

    before = builder.build(now=NOW)
    feed = feedparser.parse(store.read("feeds/all.atom")[1])
    assert [e.title for e in feed.entries] == ["Summit in March"]
    assert [e.link for e in feed.entries] == [URL]
    assert [p.path for p in before.problems if p.severity == Severity.INFO
            and "summit-june.md has the same original URL" in p.reason] == ["summit-march.md"]
    assert before.next_change_at == NOW + timedelta(days=2)

    after = builder.build(now=NOW + timedelta(days=2, seconds=1))
    feed = feedparser.parse(store.read("feeds/all.atom")[1])
    assert [e.title for e in feed.entries] == ["Summit moved to June"]
    assert [p.path for p in after.problems if "same original URL as summit-june.md" in p.reason] == \
        ["summit-march.md"]
