from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.settings import SettingsError, load_settings


def test_defaults_and_environment():
    s = load_settings(env={"FEEDSVC_FEED_SIZE": "20", "DATABASE_URL": "postgresql://db/x",
                           "FEEDSVC_BASE_URL": "https://feeds.example.org/"})
    assert s.feed_size == 20 and s.database_url == "postgresql://db/x"
    assert s.base_url == "https://feeds.example.org" and s.content_dir == Path("content")


def test_feedsvc_database_url_wins_over_database_url():
    s = load_settings(env={"FEEDSVC_DATABASE_URL": "sqlite:///a.db", "DATABASE_URL": "postgresql://db/x"})
    assert s.database_url == "sqlite:///a.db"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("FEEDSVC_FEED_SIZE", "0", "FEEDSVC_FEED_SIZE: must be at least 1, got 0"),
    ("FEEDSVC_BASE_URL", "feeds.example.org", "FEEDSVC_BASE_URL: expected an absolute http(s) URL"),
    ("FEEDSVC_WEBSUB_HUB", "ftp://hub", "FEEDSVC_WEBSUB_HUB: expected an absolute http(s) URL"),
    ("FEEDSVC_ID_AUTHORITY", "example.org", "FEEDSVC_ID_AUTHORITY: expected 'domain,YYYY'"),
])
def test_invalid_values_are_refused(name, value, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env={name: value})


def test_settings_survive_the_trip_through_the_environment(tmp_path):
    """`feedsvc serve` hands its settings to the server's worker through FEEDSVC_*."""
    from feedsvc.settings import as_environment, load_settings

    chosen = load_settings(env={}, content_dir=tmp_path, base_url="https://feeds.example",
                           linkcheck_allow=("127.0.0.1", "::1"), trust_proxy=True, feed_size=7,
                           websub_hub="", min_quality=40)
    assert load_settings(env=as_environment(chosen)) == chosen


def test_misspelt_variables_name_the_setting_meant_and_spare_the_test_suites_own():
    from feedsvc.settings import misspelt_variables

    env = {"FEEDSVC_BASEURL": "https://x.test", "FEEDSVC_FEED_SIZE": "10", "PATH": "/bin",
           "FEEDSVC_TEST_POSTGRES_URL": "postgresql://x", "FEEDSVC_REGENERATE_GOLDEN": "1",
           "FEEDSVC_UNDECLARED_TOPIC": "feed"}
    assert misspelt_variables(env) == [
        "warning: FEEDSVC_BASEURL is not a feedsvc setting (did you mean FEEDSVC_BASE_URL?); "
        "it is ignored (`feedsvc settings` lists them)",
        "warning: FEEDSVC_UNDECLARED_TOPIC is not a feedsvc setting (did you mean "
        "FEEDSVC_UNDECLARED_TOPICS?); it is ignored (`feedsvc settings` lists them)",
    ]


def test_undeclared_topics_are_reported_not_published_by_default():
    from feedsvc.settings import load_settings

    assert load_settings(env={}).undeclared_topics == "report"
