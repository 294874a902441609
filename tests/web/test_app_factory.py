"""create_app() is free of side effects (the Flask tutorial's factory): any WSGI
server may import it in as many worker processes as it likes."""

from __future__ import annotations

import threading

from feedsvc.settings import load_settings
from feedsvc.web import create_app


def test_create_app_touches_no_file_no_connection_no_thread(tmp_path):
    settings = load_settings(env={}, database_url=f"sqlite:///{tmp_path}/not/yet/store.sqlite3",
                             cache_dir=tmp_path / "cache", content_dir=tmp_path / "content")
    threads = threading.active_count()
    app = create_app({"FEEDSVC_SETTINGS": settings})
    assert list(tmp_path.iterdir()) == []  # no store directory, no cache, nothing
    assert threading.active_count() == threads
    assert app.extensions["feedsvc"].store.engine.pool.checkedin() == 0  # never connected
    # The first request is what connects; with no store there it says so, politely.
    response = app.test_client().get("/feeds/all.rss")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert not (tmp_path / "not").exists()


def test_the_web_check_interval_is_a_setting():
    app = create_app({"FEEDSVC_SETTINGS": load_settings(env={"FEEDSVC_WEB_CHECK_INTERVAL": "2.5"})})
    assert app.extensions["feedsvc"].cache.check_interval == 2.5
