"""Server-rendered SVG charts: no script, no external asset, readable by screen readers.

Pure functions from plain data to SVG text. Each chart carries a <title> and
<desc>, every mark a <title> with its exact figure, and the colours pair with
text so that nothing depends on colour alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from html import escape

from feedsvc.models import LinkStatus

STATUS_COLOURS = {str(s): s.colour for s in LinkStatus}
STATUS_ORDER = tuple(str(s) for s in LinkStatus.in_order())


def _svg(width: int, height: int, title: str, desc: str, body: list[str], ident: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" aria-labelledby="{ident}-title {ident}-desc" class="chart" id="{ident}">'
            f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def link_status_over_time(snapshots: Sequence[tuple[date, dict[str, int]]]) -> str:
    """Stacked bars: how many links were in each status, day by day."""
    width, height, left, bottom, top = 720, 240, 40, 30, 10
    if not snapshots:
        return _svg(width, 60, "Link status over time", "No link checks recorded yet.",
                    ['<text x="10" y="35" font-size="14">No link checks recorded yet.</text>'],
                    "links-over-time")
    peak = max(sum(counts.values()) for _, counts in snapshots) or 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar = plot_w / len(snapshots)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
            'stroke="currentColor"/>',
            f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>',
            f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>']
    for index, (day, counts) in enumerate(snapshots):
        x = left + index * bar
        y: float = top + plot_h
        for status in STATUS_ORDER:
            value = counts.get(status, 0)
            if not value:
                continue
            h = value / peak * plot_h
            y -= h
            body.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" '
                        f'fill="{STATUS_COLOURS[status]}">'
                        f'<title>{day.isoformat()}: {value} {status}</title></rect>')
        if index in (0, len(snapshots) - 1) or len(snapshots) <= 12:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - 12}" font-size="10" text-anchor="middle">'
                        f'{day.strftime("%d %b")}</text>')
    legend_x = left
    for status in STATUS_ORDER:
        body.append(f'<rect x="{legend_x}" y="{height - 10}" width="10" height="10" '
                    f'fill="{STATUS_COLOURS[status]}"/>'
                    f'<text x="{legend_x + 14}" y="{height - 1}" font-size="10">{status}</text>')
        legend_x += 90
    latest_day, latest = snapshots[-1]
    summary = ", ".join(f"{latest.get(s, 0)} {s}" for s in STATUS_ORDER if latest.get(s))
    return _svg(width, height + 12, "Link status over time",
                f"Links by status for {len(snapshots)} days up to {latest_day.isoformat()}: {summary}.",
                body, "links-over-time")


def articles_per_month(rows: Iterable[tuple[str, str, date]], *, months: int = 24,
                       topics: int = 12) -> str:
    """Heat map: articles per month (columns) for the busiest topics (rows).

    `rows` are (topic slug, topic title, publication date), one per article and topic.
    """
    counts: Counter[tuple[str, str]] = Counter()
    titles: dict[str, str] = {}
    per_topic: Counter[str] = Counter()
    for slug, title, day in rows:
        key = f"{day.year:04d}-{day.month:02d}"
        counts[(slug, key)] += 1
        per_topic[slug] += 1
        titles[slug] = title
    if not counts:
        return _svg(600, 60, "Articles per month per topic", "No articles yet.",
                    ['<text x="10" y="35" font-size="14">No articles yet.</text>'], "articles-per-month")
    all_months = sorted({m for _, m in counts})
    shown_months = all_months[-months:]
    shown_topics = [slug for slug, _ in per_topic.most_common(topics)]
    cell, left, top = 22, 190, 40
    width = left + cell * len(shown_months) + 10
    height = top + cell * len(shown_topics) + 10
    peak = max(counts[(s, m)] for s in shown_topics for m in shown_months) or 1
    body = []
    for column, month in enumerate(shown_months):
        if column % 3 == 0 or column == len(shown_months) - 1:
            body.append(f'<text x="{left + column * cell + cell / 2}" y="{top - 8}" font-size="9" '
                        f'text-anchor="middle">{month}</text>')
    for row, slug in enumerate(shown_topics):
        y = top + row * cell
        body.append(f'<text x="{left - 6}" y="{y + cell * 0.68}" font-size="11" text-anchor="end">'
                    f'{escape(titles[slug][:28])}</text>')
        for column, month in enumerate(shown_months):
            value = counts[(slug, month)]
            shade = 0.08 + 0.92 * value / peak if value else 0.0
            body.append(f'<rect x="{left + column * cell + 1}" y="{y + 1}" '
                        f'width="{cell - 2}" height="{cell - 2}" '
                        f'fill="#1565c0" fill-opacity="{shade:.2f}" stroke="#8888" stroke-width="0.5">'
                        f'<title>{escape(titles[slug])}, {month}: '
                        f'{value} article{"s" if value != 1 else ""}</title></rect>')
    busiest = ", ".join(f"{titles[s]} ({per_topic[s]})" for s in shown_topics[:3])
    return _svg(width, height, "Articles per month per topic",
                f"Articles per month for the {len(shown_topics)} busiest topics from {shown_months[0]} "
                f"to {shown_months[-1]}; busiest: {busiest}.", body, "articles-per-month")
