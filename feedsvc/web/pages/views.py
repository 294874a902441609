"""Pages and documents for readers beyond the feeds: topic pages past the first, each
topic's OPML, a chosen set of topics as OPML, the search index, live article pages."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, request

from feedsvc.errors import StoreUnavailable
from feedsvc.links.policy import archive_url
from feedsvc.models import Topic, utcnow
from feedsvc.render.html import render_page
from feedsvc.render.opml import chosen_topics, render_opml, topics_from_api
from feedsvc.render.timefmt import parse_time
from feedsvc.store.linkstore import LinkStore
from feedsvc.urls import (
    API_TOPICS_PATH,
    OPML_PATH,
    SEARCH_INDEX_PATH,
    article_html_path,
    topic_opml_path,
    topic_page_html_path,
)
from feedsvc.web.http import uncacheable
from feedsvc.web.linkstate import CLOCK_STATE, LINK_RUN_STATE, checking_state
from feedsvc.web.serving.published import serve
from feedsvc.web.state import state

bp = Blueprint("pages", __name__)
_SLUGS = re.compile(r"[a-z0-9-]{1,200}")
MAX_CHOSEN = 200
_FILE_STEM = re.compile(r"[^\x00-\x1f\x7f/\\]{1,200}")


@bp.get("/topics/<slug:slug>/page/<int(min=2, max=1000000):page>")
def topic_listing(slug: str, page: int) -> Response:
    return serve(topic_page_html_path(slug, page))


@bp.get("/topics/<slug:slug>.opml")
def topic_opml(slug: str) -> Response:
    return serve(topic_opml_path(slug))


@bp.get("/api/search.json")
def search_index() -> Response:
    return serve(SEARCH_INDEX_PATH)


def _published_topics() -> tuple[list[tuple[Topic, int]], object] | None:
    web = state()
    doc = web.cache.lookup(API_TOPICS_PATH)
    body = web.cache.body(doc, gzipped=False) if doc is not None else None
    if doc is None or body is None:
        return None
    return topics_from_api(json.loads(body)), doc


@bp.get("/feeds.opml")
def opml() -> Response:
    """The published OPML of every topic, or (`?topics=`) one made for a chosen set."""
    if request.args.get("topics"):  # a chosen set of topics (the index page's form)
        return chosen_opml()
    return serve(OPML_PATH)


@bp.get("/articles/<string(maxlength=200):stem>")
def article(stem: str) -> Response:
    """Our own articles and those with dead links have a published page; every other
    article gets a live page with its link status and check history."""
    web = state()
    web.cache.refresh()
    if article_html_path(stem) in web.cache.index.documents:
        return serve(article_html_path(stem))
    if not _FILE_STEM.fullmatch(stem):  # never let control characters reach a query
        abort(404)
    return live_article_page(stem)


@bp.before_app_request
def _refuse_live_article_without_store() -> None:
    """An article's live page needs the store; while the SQLite file is gone, asking it
    would create an empty file, so refuse first (a published article page is still served)."""
    if request.endpoint != "pages.article" or not request.view_args:
        return
    web = state()
    problem = getattr(web.cache, "file_problem", None)
    if problem is not None and web.cache.lookup(article_html_path(str(request.view_args["stem"]))) is None:
        raise StoreUnavailable(problem)


def chosen_opml() -> Response:
    """`/feeds.opml?topics=a,b` (or `topics=a&topics=b`, as a form sends it): an OPML of
    just those topics, made from the published topic list. Unknown names are ignored."""
    wanted = [name for value in request.args.getlist("topics") for name in value.split(",")
              if _SLUGS.fullmatch(name)][:MAX_CHOSEN]
    found = _published_topics()
    if found is None:
        abort(503)
    available, doc = found
    chosen = chosen_topics(available, wanted)
    if not chosen:
        abort(404)
    web = state()
    updated = getattr(doc, "last_modified", utcnow())
    body = render_opml(chosen, web.options, updated,
                       f"{web.options.site_title}: {', '.join(t.title for t, _ in chosen)}")
    response = Response(body, content_type="text/x-opml; charset=utf-8")
    response.headers["Cache-Control"] = web.cache_control
    response.headers["Content-Disposition"] = 'attachment; filename="feeds.opml"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def live_article_page(stem: str) -> Response:
    """An article whose page is not published: what it is (summary, outlet, topics, image)
    and how its link fares, read live from the link store."""
    web = state()
    links = LinkStore(web.store)
    found = links.article_by_stem(stem)
    if found is None:
        abort(404)
    linked, url = found
    link_state = links.states([url], active_only=False).get(url)
    if link_state is None:
        abort(404)
    now = utcnow()
    titles = {topic.slug: topic for topic, _ in (_published_topics() or ([], None))[0]}
    topic_links = [titles.get(slug) or Topic(slug, slug) for slug in linked.topics]
    history = [{**check, "when": parse_time(check["checked_at"])} for check in links.history([url])[url]]
    checking = checking_state(web.store.get_state(CLOCK_STATE), web.store.get_state(LINK_RUN_STATE), now)
    body = render_page("article_status.html", web.options, article=linked, url=url,
                       state=link_state, history=history, now=now, checking=checking,
                       topic_links=topic_links, archive_url=archive_url(url, linked.published))
    return uncacheable(Response(body, content_type="text/html; charset=utf-8"), "no-cache")
