"""The editor's calendar as a pure step: what is published at a moment, what comes later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedsvc.content.schedule import published_now, schedule_key
from feedsvc.models import Article, ScheduleAction

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def article(name: str, published: datetime, expires: datetime | None = None) -> Article:
    return Article(id=f"tag:t,2026:{name}", stem=name, source=f"{name}.md", title=name.title(),
                   summary="", content_html="", published=published, updated=published,
                   original_url=f"https://news.example/{name}", self_published=False,
                   topic_names=("Privacy",), expires=expires)


def test_future_articles_wait_and_expired_ones_leave():
    hour = timedelta(hours=1)
    articles = [article("past", NOW - hour), article("now", NOW), article("later", NOW + hour),
                article("gone", NOW - 2 * hour, expires=NOW - hour),
                article("going", NOW - hour, expires=NOW + 2 * hour),
                article("brief", NOW + hour, expires=NOW + 3 * hour),
                article("at-expiry", NOW - hour, expires=NOW)]
    shown, changes = published_now(articles, NOW)
    assert [a.stem for a in shown] == ["past", "now", "going"]
    assert [(c.path, c.action, c.at - NOW) for c in changes] == [
        ("brief.md", ScheduleAction.PUBLISH, hour),
        ("later.md", ScheduleAction.PUBLISH, hour),
        ("going.md", ScheduleAction.EXPIRE, 2 * hour),
        ("brief.md", ScheduleAction.EXPIRE, 3 * hour)]
    assert changes[0].title == "Brief" and changes[0].topics == ("Privacy",)


def test_the_published_set_changes_the_key_when_an_article_comes_due():
    later = article("later", NOW + timedelta(seconds=5))
    before = schedule_key(published_now([later], NOW)[1])
    after = schedule_key(published_now([later], NOW + timedelta(seconds=5))[1])
    assert before != after and after == ""
