"""/status as a page: the JSON report, rendered for a person.

Pure: takes the document /status answers as JSON and renders whatever it
holds. Fields are optional throughout (a store that is down gives only an
error; build history and per-feed polling figures appear when the report
carries them, as `builds`/`history` and `feeds`/`polling`), so the page never
breaks on a report from a newer or older process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feedsvc.render.common import FeedOptions
from feedsvc.render.html import render_page
from feedsvc.render.timefmt import parse_time

SCALARS = (str, int, float, bool)


def _builds(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    history = data.get("builds") or data.get("history")
    builds = [b for b in history if isinstance(b, dict)] if isinstance(history, list) else []
    last = data.get("last_build")
    if isinstance(last, dict) and not any(b.get("started_at") == last.get("started_at") for b in builds):
        builds.insert(0, last)
    out = []
    for build in builds:
        problems = [p for p in build.get("problems") or [] if isinstance(p, dict)]
        raw = build.get("timings")
        timings: dict[str, Any] = raw if isinstance(raw, dict) else {}
        out.append({**build, "started": parse_time(build.get("started_at")), "problems": problems,
                    "errors": sum(1 for p in problems if p.get("severity") == "error"),
                    "warnings": sum(1 for p in problems if p.get("severity") == "warning"),
                    "timings": {str(k): v for k, v in timings.items() if isinstance(v, int | float)}})
    return out


def _feeds(data: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """Per-feed rows (name, scalar fields) and the union of their field names, in first-seen order."""
    raw = data.get("feeds") or data.get("polling")
    rows: list[tuple[str, dict[str, Any]]] = []
    if isinstance(raw, dict):
        rows = [(str(name), value) for name, value in raw.items() if isinstance(value, dict)]
    elif isinstance(raw, list):
        rows = [(str(row.get("path") or row.get("feed") or row.get("slug") or index), row)
                for index, row in enumerate(raw) if isinstance(row, dict)]
    columns: list[str] = []
    for _, row in rows:
        for key, value in row.items():
            if key not in columns and key not in ("path", "feed", "slug") and isinstance(value, SCALARS):
                columns.append(key)
    return columns, rows


def _label(key: str) -> str:
    return key.removesuffix("_s").replace("_", " ")


def _scheduled(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("scheduled")
    changes = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return [{**c, "when": parse_time(c.get("at"))} for c in changes]


def render_status_page(data: Mapping[str, Any], options: FeedOptions, now: datetime) -> str:
    columns, feeds = _feeds(data)
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    return render_page("status.html", options, data=data, now=now, builds=_builds(data),
                       feed_columns=columns, feeds=feeds, links=links, label=_label,
                       published=parse_time(data.get("published_at")),
                       scheduled=_scheduled(data))
