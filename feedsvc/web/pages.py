"""Pages and documents for readers beyond the feeds: topic pages past the first, each
topic's OPML, a chosen set of topics as OPML, the search index, live article pages."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, request

from feedsvc.links.policy import archive_url
from feedsvc.models import Topic, utcnow
from feedsvc.render.html import render_page
from feedsvc.render.opml import chosen_topics, render_opml, topics_from_api
from feedsvc.render.timefmt import parse_time
from feedsvc.store.linkstore import LinkStore
from feedsvc.urls import API_TOPICS_PATH, SEARCH_INDEX_PATH, topic_opml_path, topic_page_html_path
from feedsvc.web.http import uncacheable
from feedsvc.web.linkstate import CLOCK_STATE, LINK_RUN_STATE, checking_state
from feedsvc.web.published import serve
from feedsvc.web.state import state

bp = Blueprint("pages", __name__)
_SLUGS = re.compile(r"[a-z0-9-]{1,200}")
MAX_CHOSEN = 200


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
