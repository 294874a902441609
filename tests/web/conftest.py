"""Web fixtures: a store with a published generation, the app over it, a client."""

from __future__ import annotations

import shutil

import pytest

from feedsvc.build import Builder
from feedsvc.store import Store
from feedsvc.web import create_app
from tests.conftest import CONTENT


@pytest.fixture
def site_settings(tmp_path, settings_for):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    return settings_for(content, feed_size=5, websub_hub="https://hub.example/")


@pytest.fixture
def publish(site_settings):
    """Build (again) and return the report; call it after changing the content."""
    store = Store(site_settings.database_url)
    store.create()
    builder = Builder(site_settings, store)
    return builder.build


@pytest.fixture
def app(site_settings, publish):
    publish()
    return create_app({"FEEDSVC_SETTINGS": site_settings.replace(web_check_interval=0), "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()

