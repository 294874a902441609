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


# The builds /status keeps apart, in the order the page shows them, with what each is.
BUILD_ROLES = (("last_build", "the last build"), ("last_published", "the last that published"),
               ("last_failure", "the last refused or failed"))


def _builds(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The builds to show: a history when the report has one (the last build first),
    else the last build, the last that published and the last refused or failed one,
    each once, saying which it is."""
    history = data.get("builds") or data.get("history")
    if isinstance(history, list):
        builds = [b for b in history if isinstance(b, dict)]
        last = data.get("last_build")
        if isinstance(last, dict) and not any(b.get("started_at") == last.get("started_at")
                                              for b in builds):
            builds.insert(0, last)
    else:
        builds = []
        for key, role in BUILD_ROLES:
            kept = data.get(key)
            if not isinstance(kept, dict):
                continue
            same = next((b for b in builds if b.get("started_at") == kept.get("started_at")), None)
            if same is None:
                builds.append({**kept, "roles": [role]})
            else:
                same["roles"].append(role)
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


def _build_counts(data: Mapping[str, Any]) -> dict[str, int]:
    """Builds by status since the store was made (the JSON's `builds` mapping)."""
    raw = data.get("builds")
    return {str(k): v for k, v in raw.items() if isinstance(v, int)} if isinstance(raw, dict) else {}


def _clocks(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("clocks")
    clocks = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return [{**c, "started": parse_time(c.get("started_at")), "seen": parse_time(c.get("seen_at"))}
            for c in clocks]


def _subscriber_rows(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The JSON's per-feed `subscribers` ({path: {estimate, today, yesterday}}) as flat rows."""
    raw = data.get("subscribers")
    rows: dict[str, dict[str, Any]] = {}
    for path, value in (raw.items() if isinstance(raw, dict) else ()):
        if not isinstance(value, dict):
            continue
        row: dict[str, Any] = {"subscribers": value.get("estimate")}
        for day in ("today", "yesterday"):
            counts = _mapping(value, day)
            row[f"polls_{day}"] = counts.get("polls")
            row[f"304_{day}"] = counts.get("not_modified")
        rows[str(path)] = row
    return rows


def _feeds(data: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """Per-feed rows (name, scalar fields) and the union of their field names, in first-seen order."""
    raw = data.get("feeds") or data.get("polling") or _subscriber_rows(data)
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


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the report, or an empty one when it is missing or malformed."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _label(key: str) -> str:
    return key.removesuffix("_s").replace("_", " ")


def _scheduled(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("scheduled")
    changes = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return [{**c, "when": parse_time(c.get("at"))} for c in changes]


def render_status_page(data: Mapping[str, Any], options: FeedOptions, now: datetime) -> str:
    columns, feeds = _feeds(data)
    links = _mapping(data, "links")
    link_check = _mapping(data, "link_check")
    last_run = _mapping(link_check, "last_run") or None
    websub = _mapping(data, "websub")
    return render_page("status.html", options, data=data, now=now, builds=_builds(data),
                       feed_columns=columns, feeds=feeds, links=links, label=_label,
                       published=parse_time(data.get("published_at")),
                       last_success=parse_time(data.get("last_success_at")),
                       scheduled=_scheduled(data), build_counts=_build_counts(data),
                       clocks=_clocks(data), link_check=link_check, last_link_run=last_run,
                       last_link_run_at=parse_time((last_run or {}).get("finished_at")
                                                   or (last_run or {}).get("at")),
                       websub=websub)
