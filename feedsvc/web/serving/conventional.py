"""The URLs people and readers guess, sent to the canonical feeds.

Readers and people try `/feed`, `/rss`, `/atom.xml` (WordPress, Hugo, Jekyll
habits), a feed without its extension, or a topic under one of its aliases
(`/feeds/ai-regulation.rss` for `regulation`). Each gets a 301 to the one
canonical URL, absolute and built from FEEDSVC_BASE_URL (never from the
request's Host header), so a subscription made through a guess still lands on
the feed whose id and ETags never change.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort

from feedsvc.urls import FAVICON_PATH, ICON_PATH, LOGO_PATH, feed_path
from feedsvc.web.serving.canonical import canonical_slug, redirect_to
from feedsvc.web.serving.published import serve

bp = Blueprint("conventional", __name__)

# Guessed site-wide feed URLs -> the format of the all feed they mean.
SITE_FEED_ALIASES = {
    "/feed": "rss", "/rss": "rss", "/rss.xml": "rss", "/feed.xml": "rss", "/feed.rss": "rss",
    "/index.xml": "rss", "/index.rss": "rss",
    "/atom": "atom", "/atom.xml": "atom", "/feed.atom": "atom", "/feed/atom": "atom",
    "/feed.json": "json", "/feed/json": "json", "/json": "json",
}


def _site_feed(fmt: str) -> Callable[[], Response]:
    def view() -> Response:
        return redirect_to(feed_path("all", fmt))
    return view


for _number, (_rule, _fmt) in enumerate(SITE_FEED_ALIASES.items()):
    # strict_slashes=False: "/feed/" is the same guess as "/feed".
    bp.add_url_rule(_rule, f"site_feed_{_number}", _site_feed(_fmt), strict_slashes=False)


@bp.get("/feeds/<slug:slug>")
@bp.get("/feeds/<slug:slug>/")
def feed_without_extension(slug: str) -> Response:
    found = canonical_slug(slug)
    if found is None:
        abort(404)
    return redirect_to(feed_path(found, "rss"))


@bp.get("/topics/<slug:slug>/")
def topic_with_slash(slug: str) -> Response:
    found = canonical_slug(slug)
    if found is None:
        abort(404)
    return redirect_to(f"topics/{found}")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return serve(FAVICON_PATH)


@bp.get("/icon.png")
def icon() -> Response:
    return serve(ICON_PATH)


@bp.get("/logo.png")
def logo() -> Response:
    return serve(LOGO_PATH)
