"""The OpenAPI 3.1 description of every feed and JSON route, served at /openapi.json.

Written by hand, next to the routes it describes; the test suite runs
schemathesis against it, so a route that drifts from this description fails.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from feedsvc import __version__
from feedsvc.models import LINK_FILTERS
from feedsvc.render.formats import feed_formats
from feedsvc.settings import Settings
from feedsvc.web.state import state

# An OpenAPI document is a JSON tree of heterogeneous objects, built here literally
# and checked against the OpenAPI schema by the tests, not by the type checker.
JSONObject = dict[str, Any]

bp = Blueprint("openapi", __name__)

SLUG = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 120}
TOPIC = {"name": "topic", "in": "path", "required": True, "schema": SLUG,
         "description": "Topic slug, or `all` for every article."}
PAGE = {"name": "page", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
        "description": "Archive page; 1 is the oldest."}
TEXT = {"schema": {"type": "string"}}


def _ref(name: str) -> JSONObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_responses(*codes: int) -> JSONObject:
    described = {
        "400": "The request is malformed (for example a bad `page`).",
        "404": "No such topic or document; the JSON body lists every topic.",
        "414": "The URL is too long.",
        "429": "Too many requests from this client (rate limiting is on); see `Retry-After`.",
        "503": "Nothing published yet, or the store is unavailable; see `Retry-After`.",
    }
    return {str(code): {"description": described[str(code)], "content": {
        "application/json": {"schema": _ref("Error")}, "text/html": TEXT}} for code in codes}


def _document(media_type: str, schema: JSONObject, summary: str, parameters: list[JSONObject]) -> JSONObject:
    return {"get": {
        "summary": summary, "parameters": parameters,
        "responses": {
            "200": {"description": "The document. Strong `ETag`, `Last-Modified`, gzip when accepted.",
                    "headers": {"ETag": {"schema": {"type": "string"}},
                                "Last-Modified": {"schema": {"type": "string"}}},
                    "content": {media_type: {"schema": schema}}},
            "304": {"description":
                    "Not modified since the client's copy (If-None-Match / If-Modified-Since)."},
            **_error_responses(404, 414, 429, 503),
        }}}


def _feed_paths() -> JSONObject:
    paths: JSONObject = {}
    formats = [(f.name, f.media_type, f.openapi_schema) for f in feed_formats()]
    for ext, media_type, schema in formats:
        paths[f"/feeds/{{topic}}.{ext}"] = _document(
            media_type, schema, f"A topic's subscription feed ({ext}).", [TOPIC])
        paths[f"/feeds/{{topic}}/archive/{{page}}.{ext}"] = _document(
            media_type, schema, f"An RFC 5005 archive page of a topic's feed ({ext}).", [TOPIC, PAGE])
    paths["/feeds.opml"] = _document("text/x-opml", TEXT["schema"], "Every feed, as OPML 2.0.", [])
    return paths


def openapi_document(settings: Settings) -> JSONObject:
    def json_ok(schema: JSONObject, text: str) -> JSONObject:
        return {"description": text, "content": {"application/json": {"schema": schema}}}

    paths = _feed_paths()
    paths["/api/topics"] = _document("application/json", _ref("TopicList"), "Every topic.", [])
    paths["/api/topics/{topic}/articles"] = _document(
        "application/feed+json", _ref("JsonFeed"),
        "A topic's articles, newest first; `next_url` pages back (the JSON Feed pages).",
        [TOPIC, {"name": "page", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 99_999_999},
                 "description": "0 (default): the newest page; n: archive page n."}])
    paths["/api/topics/{topic}/articles"]["get"]["responses"].update(_error_responses(400))
    paths["/api/links"] = {"get": {
        "summary": "Link health: every checked link with its articles and history.",
        "parameters": [
            {"name": "status", "in": "query", "required": False, "style": "form", "explode": True,
             "schema": {"type": "array", "items": {"enum": list(LINK_FILTERS)}}},
            {"name": "page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}],
        "responses": {"200": json_ok(_ref("LinkReport"), "One page of links (100 a page)."),
                      **_error_responses(400, 414, 429, 503)}}}
    paths["/status"] = {"get": {"summary": "The last build report and link counts.", "responses": {
        "200": json_ok({"type": "object", "required": ["generation", "last_build"]}, "Status."),
        **_error_responses(503)}}}
    paths["/readyz"] = {"get": {"summary": "Readiness.", "responses": {
        "200": json_ok(_ref("Ready"), "Ready."), "503": json_ok(_ref("Ready"), "Not ready.")}}}
    paths["/healthz"] = {"get": {"summary": "Liveness.", "responses": {
        "200": {"description": "Alive.", "content": {"text/plain": TEXT}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{settings.site_title} (feedsvc)", "version": __version__,
                 "description": "Feeds, pages and JSON for curated AI-ethics news."},
        "servers": [{"url": settings.base_url}],
        "paths": paths,
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "topics": {"type": "array", "items": {"type": "string"}}}},
            "JsonFeed": {
                "type": "object", "required": ["version", "title", "items"],
                "properties": {
                    "version": {"const": "https://jsonfeed.org/version/1.1"},
                    "title": {"type": "string"}, "home_page_url": {"type": "string"},
                    "feed_url": {"type": "string"}, "description": {"type": "string"},
                    "next_url": {"type": "string"}, "language": {"type": "string"},
                    "authors": {"type": "array"}, "hubs": {"type": "array"},
                    "items": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                       "title": {"type": "string"},
                                       "content_html": {"type": "string"},
                                       "content_text": {"type": "string"},
                                       "summary": {"type": "string"}, "image": {"type": "string"},
                                       "date_published": {"type": "string"},
                                       "date_modified": {"type": "string"},
                                       "tags": {"type": "array", "items": {"type": "string"}}}}}}},
            "TopicList": {"type": "object", "required": ["topics"], "properties": {"topics": {
                "type": "array", "items": {"type": "object",
                                           "required": ["slug", "title", "articles", "feeds"],
                                           "properties": {"slug": {"type": "string"},
                                                          "title": {"type": "string"},
                                                          "articles": {"type": "integer"},
                                                          "feeds": {"type": "object"}}}}}},
            "LinkReport": {"type": "object", "required": ["counts", "total", "links", "page"],
                           "properties": {"counts": {"type": "object"}, "total": {"type": "integer"},
                                          "page": {"type": "integer"}, "links": {"type": "array"},
                                          "next": {"type": "string"}}},
            "Ready": {"type": "object", "required": ["ready"], "properties": {
                "ready": {"type": "boolean"}, "generation": {"type": ["integer", "null"]}}},
        }},
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    response = jsonify(openapi_document(state().settings))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
