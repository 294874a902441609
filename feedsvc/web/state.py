"""Per-app state: settings, the store and the document cache (Flask's init_app pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import Flask, current_app
from werkzeug.routing import BaseConverter

from feedsvc.render.common import FeedOptions
from feedsvc.settings import Settings
from feedsvc.store import Store
from feedsvc.store.hotpath import sqlite_file
from feedsvc.web.document_cache import DocumentCache
from feedsvc.web.storefile import StoreFileWatch, WatchedDocumentCache


class SlugConverter(BaseConverter):
    """Topic slugs as topics.yml allows them; anything else never reaches a view."""

    regex = r"[a-z0-9]{1,80}(?:-[a-z0-9]{1,80}){0,20}"


@dataclass
class WebState:
    settings: Settings
    store: Store
    cache: DocumentCache
    cache_control: str

    @cached_property
    def options(self) -> FeedOptions:
        """Computed once: feed routes use it on every request."""
        s = self.settings
        return FeedOptions(s.base_url, s.site_title, s.site_description, s.language,
                           s.feed_size, s.websub_hub)


def init_app(app: Flask, settings: Settings) -> None:
    store = Store(settings.database_url, settings.db_timeout)  # lazy: connects on first use
    path = sqlite_file(settings.database_url)
    cache = WatchedDocumentCache(
        store, StoreFileWatch(path) if path is not None else None,
        check_interval=settings.web_check_interval,
        max_body_bytes=settings.web_cache_mb * 1024 * 1024)
    app.extensions["feedsvc"] = WebState(
        settings, store, cache, f"public, max-age={settings.build_interval}")
    app.url_map.converters["slug"] = SlugConverter
    app.url_map.strict_slashes = True


def state() -> WebState:
    web = current_app.extensions.get("feedsvc")
    if not isinstance(web, WebState):  # pragma: no cover - every app comes from create_app
        raise RuntimeError("this Flask app was not set up by feedsvc's create_app()")
    return web
