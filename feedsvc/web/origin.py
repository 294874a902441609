"""Absolute URLs come from FEEDSVC_BASE_URL, never from the request.

Werkzeug builds the absolute URLs it emits (the `Location` of the 308 it
answers for `/feeds//all.rss`, strict-slash redirects, `url_for(...,
_external=True)`) from the request's `Host` header and scheme. A client can
send any `Host`, and a shared cache in front of the service may keep the
answer, so `GET /feeds//all.rss` with `Host: evil.example` could have sent
every later reader of that cache to evil.example. The fix is in one place:
the URL adapter each request is routed with is pinned to the configured base
URL (scheme, host, port and path prefix), so werkzeug's own redirect logic
stays in charge of *where* to redirect, and settings say *to which site*.
Routing redirects then get the same Cache-Control as documents: they depend
only on the path, so caching them is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Request, Response
from werkzeug.routing import MapAdapter


def pin_to_base(adapter: MapAdapter, base_url: str) -> MapAdapter:
    """Make `adapter` build every absolute URL under `base_url` instead of the request's host."""
    parts = urlsplit(base_url)
    adapter.url_scheme = parts.scheme
    adapter.server_name = parts.netloc.lower()
    adapter.subdomain = ""
    adapter.script_name = parts.path.rstrip("/") + "/"
    return adapter


class BaseUrlFlask(Flask):
    """Flask whose request URL adapters build absolute URLs from FEEDSVC_BASE_URL."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        adapter = super().create_url_adapter(request)
        settings = self.config.get("FEEDSVC_SETTINGS")
        if adapter is not None and request is not None and settings is not None:
            pin_to_base(adapter, settings.base_url)
        return adapter


def cache_redirects(cache_control: str) -> Callable[[Response], Response]:
    """An after_request hook: routing redirects (merge-slashes, strict-slashes) carry no
    Cache-Control of their own; give them the documents' one."""

    def hook(response: Response) -> Response:
        if 300 <= response.status_code < 400 and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = cache_control
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return hook


def init_app(app: Flask) -> None:
    """Routing redirects get the documents' Cache-Control (FEEDSVC_BUILD_INTERVAL)."""
    app.after_request(cache_redirects(f"public, max-age={app.config['FEEDSVC_SETTINGS'].build_interval}"))
