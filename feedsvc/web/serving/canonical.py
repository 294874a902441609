"""Canonical addresses: topic aliases resolved, redirects built from the base URL."""

from __future__ import annotations

import json
from functools import lru_cache

from flask import Response

from feedsvc.content.topics import slugify
from feedsvc.render.formats import format_names
from feedsvc.urls import API_TOPICS_PATH, feed_path
from feedsvc.web.state import WebState, state

REDIRECT_CACHE = "public, max-age=86400"


def redirect_to(path: str) -> Response:
    response = Response(status=301)
    response.headers["Location"] = state().options.urls.absolute(path)
    response.headers["Cache-Control"] = REDIRECT_CACHE
    return response


@lru_cache(maxsize=4)
def _aliases(topics_json: bytes) -> dict[str, str]:
    """slugified alias or title -> canonical slug, from the published topic list."""
    mapping: dict[str, str] = {}
    for topic in json.loads(topics_json).get("topics", []):
        for name in (topic.get("title", ""), *topic.get("aliases", [])):
            mapping.setdefault(slugify(name), topic["slug"])
    return mapping


def _published(web: WebState, slug: str) -> bool:
    """Whether a topic has feeds (every topic has one in every registered format)."""
    return web.cache.lookup(feed_path(slug, format_names()[0])) is not None


def canonical_for(web: WebState, slug: str) -> str | None:
    """The slug a topic is published under, for its own slug or an alias's (no request
    needed: the WSGI table asks it too)."""
    if _published(web, slug):
        return slug
    doc = web.cache.lookup(API_TOPICS_PATH)
    body = web.cache.body(doc, gzipped=False) if doc is not None else None
    if not body:
        return None
    found = _aliases(body).get(slug)
    return found if found and _published(web, found) else None


def canonical_slug(slug: str) -> str | None:
    """`canonical_for` the app serving this request."""
    return canonical_for(state(), slug)


