"""Link health for people (/links) and services (/api/links), read live from the store.

Unlike feeds, this is operational data that changes with every check, so it
is read per request (operators' pages, low traffic) and never cached publicly.
"""

from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, Response, jsonify, request
from markupsafe import Markup

from feedsvc.links.report import link_report
from feedsvc.links.store import LinkStore
from feedsvc.models import DEAD, LinkStatus, utcnow
from feedsvc.render.charts import link_status_over_time
from feedsvc.render.html import render_page
from feedsvc.render.timefmt import parse_time
from feedsvc.urls import ARTICLES_CHART_PATH
from feedsvc.web.errors import json_error
from feedsvc.web.http import uncacheable
from feedsvc.web.linkstate import CLOCK_STATE, LINK_RUN_STATE, checking_state
from feedsvc.web.state import state

bp = Blueprint("links", __name__)
PAGE_SIZE = 100
ATTENTION = (*(str(s) for s in LinkStatus.in_order() if s.needs_attention), DEAD)
STATUSES = {*(str(s) for s in LinkStatus.in_order()), DEAD}


@bp.get("/links")
def links_page() -> Response:
    web = state()
    report = link_report(web.store, ATTENTION, limit=500)
    options = web.options
    store = LinkStore(web.store)
    now = utcnow()
    trend = link_status_over_time(store.daily_counts())
    checking = checking_state(web.store.get_state(CLOCK_STATE), web.store.get_state(LINK_RUN_STATE), now)
    for row in report["links"]:  # human times, and where to fix each problem
        row["checked"] = parse_time(row["checked_at"])
        row["next"] = parse_time(row["next_check_at"])
        for check in row.get("history", []):
            check["when"] = parse_time(check["checked_at"])
        for article in row["articles"]:
            article["edit_path"] = str(PurePath(web.settings.content_dir) / article["source"])
    chart_doc = web.cache.lookup(ARTICLES_CHART_PATH)
    chart = web.cache.body(chart_doc, gzipped=False) if chart_doc is not None else None
    # Both charts are SVG this service rendered itself, with every text escaped.
    body = render_page("links.html", options, report=report, now=now, checking=checking,
                       due=store.due_count(now), last_checked=store.last_checked_at(),
                       status_chart=Markup(trend),  # noqa: S704 - our own escaped SVG
                       articles_chart=Markup(chart.decode()) if chart else None)  # noqa: S704
    return uncacheable(Response(body, content_type="text/html; charset=utf-8"), "no-cache")


@bp.get("/api/links")
def links_api() -> Response:
    statuses = [s for value in request.args.getlist("status") for s in value.split(",") if s]
    unknown = sorted(set(statuses) - STATUSES)
    if unknown:
        return json_error(400, "bad request", f"unknown status {unknown[0]!r}; use one of "
                          + ", ".join(sorted(STATUSES)))
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        return json_error(400, "bad request", "`page` must be a whole number from 1")
    page = int(raw)
    report = link_report(state().store, statuses, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    report["page"], report["per_page"] = page, PAGE_SIZE
    if page * PAGE_SIZE < report["total"]:
        query = "&".join(f"status={s}" for s in statuses)
        more = f"api/links?page={page + 1}" + (f"&{query}" if query else "")
        report["next"] = state().options.urls.absolute(more)
    return uncacheable(jsonify(report), "no-cache")
