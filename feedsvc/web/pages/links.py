"""Link health for people (/links) and services (/api/links), read from the store.

Unlike feeds, this is operational data that changes with every check run, so
it is never cached publicly. It is cached here, per process: every answer is
kept under the links version (bumped in the transaction of each check run
and of each build that registers URLs) and the generation (the articles
chart), checked at most once a second, so between two runs a page is a
dictionary lookup. A miss filters, sorts and pages in SQL over the
`links_rank` index (feedsvc.store.linkstore.LinkStore.page), never loading every
row.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from flask import Blueprint, Response, json, request
from markupsafe import Markup

from feedsvc.errors import StoreUnavailable
from feedsvc.links.health import link_report
from feedsvc.models import DEAD, LINK_FILTERS, LinkStatus, utcnow
from feedsvc.render.charts import link_status_over_time
from feedsvc.render.html import render_page
from feedsvc.render.timefmt import parse_time
from feedsvc.store.linkstore import LinkStore
from feedsvc.urls import ARTICLES_CHART_PATH
from feedsvc.web.error_pages import json_error
from feedsvc.web.http import uncacheable
from feedsvc.web.linkstate import CLOCK_STATE, LINK_RUN_STATE, checking_state
from feedsvc.web.state import WebState, state

bp = Blueprint("links", __name__)
PAGE_SIZE = 100
ATTENTION = (*(str(s) for s in LinkStatus.in_order() if s.needs_attention), DEAD)
STATUSES = set(LINK_FILTERS)
CACHE_BYTES = 32 * 1024 * 1024  # per process: some 500 pages of 100 links with their history


class LinkPageCache:
    """Rendered link answers keyed by (links version, generation, query); an LRU bounded
    in bytes."""

    def __init__(self, check_interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.check_interval = check_interval
        self.clock = clock
        self.version: int | None = None
        self.checked = float("-inf")
        self._answers: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # One miss rendered at a time per process: the others wait without holding the
        # GIL, so feed requests on the same worker keep their share of the CPU.
        self._rendering = threading.Lock()
        self._rank_counts: tuple[int, dict[int, int]] | None = None

    def rank_counts(self, links: LinkStore, version: int) -> dict[int, int]:
        """Per-rank counts for this links version, read once and shared by every page."""
        held = self._rank_counts
        if held is None or held[0] != version:
            held = self._rank_counts = (version, links.rank_counts())
        return held[1]

    def current_version(self, links: LinkStore) -> int:
        if self.version is None or self.clock() - self.checked >= self.check_interval:
            self.version = links.version()  # raises StoreUnavailable when the store is away
            self.checked = self.clock()
        return self.version

    def get(self, key: tuple[Any, ...], make: Callable[[], bytes]) -> bytes:
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return found
        with self._rendering:
            with self._lock:
                found = self._answers.get(key)
            if found is not None:  # rendered by the thread we waited for
                return found
            body = make()
        with self._lock:
            if key not in self._answers:
                self._answers[key] = body
                self._bytes += len(body)
            while self._bytes > CACHE_BYTES and len(self._answers) > 1:
                self._bytes -= len(self._answers.popitem(last=False)[1])
        return body


def _cache(web: WebState) -> LinkPageCache:
    from flask import current_app

    cache = current_app.extensions.get("feedsvc_link_pages")
    if not isinstance(cache, LinkPageCache):
        cache = current_app.extensions["feedsvc_link_pages"] = LinkPageCache(
            web.settings.web_check_interval)
    return cache


def _live_store(web: WebState) -> LinkStore:
    """The store for a live page, refusing (503) while the SQLite file is gone: a query
    would create an empty file in its place."""
    problem = getattr(web.cache, "file_problem", None)
    if problem is not None:
        raise StoreUnavailable(problem)
    return LinkStore(web.store)


def _page_arg() -> int | Response:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        return json_error(400, "bad request", "`page` must be a whole number from 1")
    return int(raw)


@bp.get("/links")
def links_page() -> Response:
    web = state()
    page = _page_arg()
    if isinstance(page, Response):
        return page
    links = _live_store(web)
    generation = web.cache.refresh().generation
    cache = _cache(web)
    version = cache.current_version(links)
    # The page says when checks ran and are due, relative to now: cached a minute at most.
    key = ("html", version, generation, page, int(time.time() // 60))

    def render() -> bytes:
        now = utcnow()
        report = link_report(web.store, ATTENTION, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                             rank_counts=cache.rank_counts(links, version))
        report["page"], report["per_page"] = page, PAGE_SIZE
        if page * PAGE_SIZE < report["total"]:
            report["next"] = web.options.urls.absolute(f"links?page={page + 1}")
        for row in report["links"]:  # human times, and where to fix each problem
            row["checked"] = parse_time(row["checked_at"])
            row["next"] = parse_time(row["next_check_at"])
            for check in row.get("history", []):
                check["when"] = parse_time(check["checked_at"])
            for article in row["articles"]:
                article["edit_path"] = str(PurePath(web.settings.content_dir) / article["source"])
        trend = link_status_over_time(links.daily_counts())
        checking = checking_state(web.store.get_state(CLOCK_STATE),
                                  web.store.get_state(LINK_RUN_STATE), now)
        chart_doc = web.cache.lookup(ARTICLES_CHART_PATH)
        chart = web.cache.body(chart_doc, gzipped=False) if chart_doc is not None else None
        # Both charts are SVG this service rendered itself, with every text escaped.
        return render_page("links.html", web.options, report=report, now=now, checking=checking,
                           due=links.due_count(now), last_checked=links.last_checked_at(),
                           status_chart=Markup(trend),  # noqa: S704 - our own escaped SVG
                           articles_chart=Markup(chart.decode()) if chart else None  # noqa: S704
                           ).encode()

    body = cache.get(key, render)
    return uncacheable(Response(body, content_type="text/html; charset=utf-8"), "no-cache")


@bp.get("/api/links")
def links_api() -> Response:
    statuses = sorted({s for value in request.args.getlist("status") for s in value.split(",") if s})
    unknown = sorted(set(statuses) - STATUSES)
    if unknown:
        return json_error(400, "bad request", f"unknown status {unknown[0]!r}; use one of "
                          + ", ".join(sorted(STATUSES)))
    page = _page_arg()
    if isinstance(page, Response):
        return page
    web = state()
    links = _live_store(web)
    cache = _cache(web)
    version = cache.current_version(links)
    key = ("api", version, tuple(statuses), page)

    def render() -> bytes:
        report = link_report(web.store, statuses, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
                             rank_counts=cache.rank_counts(links, version))
        report["page"], report["per_page"] = page, PAGE_SIZE
        if page * PAGE_SIZE < report["total"]:
            query = "&".join(f"status={s}" for s in statuses)
            more = f"api/links?page={page + 1}" + (f"&{query}" if query else "")
            report["next"] = web.options.urls.absolute(more)
        return (json.dumps(report) + "\n").encode()

    body = cache.get(key, render)
    return uncacheable(Response(body, content_type="application/json"), "no-cache")
