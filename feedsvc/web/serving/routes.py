"""Every published document, under the URL layout the static export mirrors."""

from __future__ import annotations

from flask import Blueprint, Response, request

from feedsvc.render.formats import format_names
from feedsvc.urls import (
    API_TOPICS_PATH,
    ARTICLES_CHART_PATH,
    INDEX_PATH,
    STYLESHEET_PATH,
    archive_path,
    feed_path,
    topic_html_path,
)
from feedsvc.web.error_pages import json_error
from feedsvc.web.serving.canonical import canonical_slug, redirect_to
from feedsvc.web.serving.published import serve
from feedsvc.web.state import state

bp = Blueprint("documents", __name__)
# Routes whose answer, when nothing is published at the URL and the slug is no topic's
# alias, is 404: the WSGI table answers those itself (feedsvc.web.serving.table).
MISSING_IS_404 = frozenset({"documents.feed", "documents.archive", "documents.topic"})
FORMATS = f"any({', '.join(format_names())})"  # every registered feed format
@bp.get(f"/feeds/<slug:slug>.<{FORMATS}:fmt>")
def feed(slug: str, fmt: str) -> Response:
    path = feed_path(slug, fmt)
    if state().cache.lookup(path) is None:
        found = canonical_slug(slug)  # an alias of a topic: send readers to its feed
        if found is not None and found != slug:
            return redirect_to(feed_path(found, fmt))
    return serve(path)


@bp.get(f"/feeds/<slug:slug>/archive/<int(min=1, max=10000000):page>.<{FORMATS}:fmt>")
def archive(slug: str, page: int, fmt: str) -> Response:
    return serve(archive_path(slug, page, fmt))


@bp.get("/feed.xsl")
def stylesheet() -> Response:
    return serve(STYLESHEET_PATH)


@bp.get("/charts/articles-per-month.svg")
def articles_chart() -> Response:
    return serve(ARTICLES_CHART_PATH)


@bp.get("/")
def index() -> Response:
    return serve(INDEX_PATH)


@bp.get("/topics/<slug:slug>")
def topic(slug: str) -> Response:
    if state().cache.lookup(topic_html_path(slug)) is None:
        found = canonical_slug(slug)
        if found is not None and found != slug:
            return redirect_to(f"topics/{found}")
    return serve(topic_html_path(slug))


@bp.get("/api/topics")
def api_topics() -> Response:
    return serve(API_TOPICS_PATH)


@bp.get("/api/topics/<slug:slug>/articles")
def api_articles(slug: str) -> Response:
    """A topic's articles, newest first, in the JSON Feed pages (`next_url` pages back)."""
    raw = request.args.get("page", "0")
    if not raw.isdigit() or len(raw) > 8:
        return json_error(400, "bad request", "`page` must be a whole number (0 = newest)")
    page = int(raw)
    path = archive_path(slug, page, "json") if page else feed_path(slug, "json")
    return serve(path, api=True)
