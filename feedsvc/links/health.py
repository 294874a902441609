"""Link health as data (for the CLI, /links and /api/links) and as text, JSON or Markdown."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from feedsvc.store import Store
from feedsvc.store.linkstore import LinkStore, counts_from_ranks


def link_report(store: Store, statuses: Iterable[str] = (), *, history: bool = True,
                offset: int = 0, limit: int | None = None,
                rank_counts: dict[int, int] | None = None) -> dict[str, Any]:
    """`rank_counts` (LinkStore.rank_counts) may be passed in when the caller holds them
    for the current links version: the one query that reads every active row."""
    links = LinkStore(store)
    rank_counts = links.rank_counts() if rank_counts is None else rank_counts
    # Worst first (dead, then broken ... ok), then by URL: sorted and paged in SQL.
    states, total = links.page(statuses, offset, limit, rank_counts)
    urls = [s.url for s in states]
    articles = links.articles(urls)
    past = links.history(urls) if history else {}
    rows = []
    for state in states:
        rows.append({
            "url": state.url, "status": state.status, "dead": state.dead, "code": state.code,
            "final_url": state.final_url if state.final_url != state.url else None,
            "permanent_redirect": state.permanent_redirect, "error": state.error,
            "checked_at": state.checked_at.isoformat() if state.checked_at else None,
            "next_check_at": state.next_check_at.isoformat() if state.next_check_at else None,
            "consecutive_failures": state.consecutive_failures,
            "first_failure_at": state.first_failure_at.isoformat() if state.first_failure_at else None,
            "checks": state.checks,
            "articles": [{"id": a.article_id, "title": a.title, "source": a.source,
                          "published": a.published.isoformat()} for a in articles.get(state.url, [])],
            **({"history": past.get(state.url, [])} if history else {}),
        })
    return {"counts": counts_from_ranks(rank_counts), "total": total, "links": rows}


def render_report(report: dict[str, Any], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    counts = ", ".join(f"{k} {v}" for k, v in report["counts"].items())
    if output_format == "markdown":
        lines = ["# Link health", "", counts, "",
                 "| status | code | failures | checked | URL | articles |", "|---|---|---|---|---|---|"]
        for row in report["links"]:
            status = row["status"] + (" (dead)" if row["dead"] else "")
            titles = "; ".join(a["title"].replace("|", "\\\\|") for a in row["articles"])
            lines.append(f"| {status} | {row['code'] or ''} | {row['consecutive_failures']} | "
                         f"{(row['checked_at'] or 'never')[:16]} | <{row['url']}> | {titles} |")
        return "\n".join(lines) + "\n"
    lines = [counts]
    for row in report["links"]:
        status = row["status"] + ("/dead" if row["dead"] else "")
        detail = f" -> {row['final_url']}" if row["final_url"] else ""
        detail += f" ({row['error']})" if row["error"] else ""
        lines.append(f"{status:<14} {row['code'] or '-':>3} {row['url']}{detail}")
        for article in row["articles"]:
            lines.append(f"{'':18}{article['source']}: {article['title']}")
    return "\n".join(lines) + "\n"
