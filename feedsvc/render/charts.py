"""Server-rendered SVG charts: no script, no external asset, readable by screen readers.

Pure functions from plain data to SVG text. Each chart carries a <title> and
<desc>, every mark a <title> with its exact figure, a legend, and the colours
pair with text so that nothing depends on colour alone. Colours come from
palettes made for colour-blind readers (Okabe-Ito for statuses, a viridis
ramp for counts). Every chart draws its own background and text colour, so
it reads the same on a light or a dark page and opened on its own.

Time runs continuously along the x axis: a day or month with no data keeps its
place (empty), so gaps show as gaps rather than closing up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from html import escape

from feedsvc.models import LinkStatus

STATUS_COLOURS = {str(s): s.colour for s in LinkStatus}
STATUS_ORDER = tuple(str(s) for s in LinkStatus.in_order())
BACKGROUND, INK, GRID, EMPTY = "#ffffff", "#1b1b1b", "#c8c8c8", "#f0f0f0"
# Viridis, light to dark, in five steps.
RAMP = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
CHAR_WIDTH = 6.4  # px per character of 11 px system-ui text, generously


def _svg(width: float, height: float, title: str, desc: str, body: list[str], ident: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" aria-labelledby="{ident}-title {ident}-desc" '
            f'class="chart" id="{ident}" font-family="system-ui, sans-serif">'
            f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(desc)}</desc>'
            f'<rect width="100%" height="100%" fill="{BACKGROUND}"/>'
            f'<g fill="{INK}">' + "".join(body) + "</g></svg>")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def link_status_over_time(snapshots: Sequence[tuple[date, dict[str, int]]]) -> str:
    """Stacked bars: how many links were in each status, day by day (days without a
    snapshot keep their place, empty)."""
    if not snapshots:
        return _svg(360, 50, "Link status over time", "No link checks recorded yet.",
                    ['<text x="10" y="30" font-size="14">No link checks recorded yet.</text>'],
                    "links-over-time")
    by_day = dict(snapshots)
    days = _days(snapshots[0][0], snapshots[-1][0])
    left, right, top, plot_h = 44, 12, 12, 160
    bar = max(6.0, min(24.0, 600 / len(days)))
    plot_w = max(bar * len(days), 300.0)  # room for the legend on one or two lines
    bar = plot_w / len(days)
    width = left + plot_w + right
    # Only the statuses are stacked (a snapshot also counts `dead`, a subset of them).
    peak = max(sum(counts.get(s, 0) for s in STATUS_ORDER) for _, counts in snapshots) or 1
    base_y = top + plot_h
    body = [f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" stroke="{INK}"/>',
            f'<line x1="{left}" y1="{top}" x2="{left + plot_w}" y2="{top}" stroke="{GRID}"/>',
            f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{peak}</text>',
            f'<text x="{left - 6}" y="{base_y}" font-size="11" text-anchor="end">0</text>']
    for index, day in enumerate(days):
        x = left + index * bar
        y: float = base_y
        counts = by_day.get(day, {})
        for status in STATUS_ORDER:
            value = counts.get(status, 0)
            if not value:
                continue
            h = value / peak * plot_h
            y -= h
            body.append(f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" '
                        f'fill="{STATUS_COLOURS[status]}">'
                        f'<title>{day.isoformat()}: {value} {status}</title></rect>')
    step = max(1, round(60 / bar))  # a tick label every ~60 px, first and last always
    ticks = sorted({*range(0, len(days), step), len(days) - 1})
    for index in ticks:
        if index != len(days) - 1 and len(days) - 1 - index < step / 2:
            continue  # keep the last label clear of its neighbour
        x = left + index * bar + bar / 2
        body.append(f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 4}" stroke="{INK}"/>'
                    f'<text x="{x:.1f}" y="{base_y + 16}" font-size="11" text-anchor="middle">'
                    f'{days[index].day} {days[index]:%b}</text>')
    legend_y, legend_x = base_y + 34, float(left)
    for status in STATUS_ORDER:
        label_w = 14 + len(status) * CHAR_WIDTH + 14
        if legend_x + label_w > width - right:
            legend_x, legend_y = float(left), legend_y + 18
        body.append(f'<rect x="{legend_x:.0f}" y="{legend_y - 10}" width="11" height="11" '
                    f'fill="{STATUS_COLOURS[status]}"/>'
                    f'<text x="{legend_x + 15:.0f}" y="{legend_y}" font-size="11">{status}</text>')
        legend_x += label_w
    latest_day, latest = snapshots[-1]
    summary = ", ".join(f"{latest.get(s, 0)} {s}" for s in STATUS_ORDER if latest.get(s))
    return _svg(width, legend_y + 10, "Link status over time",
                f"Links by status for {len(days)} days up to {latest_day.isoformat()}: {summary}.",
                body, "links-over-time")


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _step_range(index: int, peak: int) -> tuple[int, int]:
    """The counts step `index` of the ramp stands for: (lowest, highest), maybe empty."""
    return index * peak // len(RAMP) + 1, (index + 1) * peak // len(RAMP)


def _bin(value: int, peak: int) -> int:
    """Which of the ramp's steps a non-zero count falls in (0 = fewest)."""
    for index in range(len(RAMP)):
        low, high = _step_range(index, peak)
        if low <= value <= high:
            return index
    return len(RAMP) - 1


def articles_per_month(rows: Iterable[tuple[str, str, date]], *, months: int = 24,
                       topics: int = 12) -> str:
    """Heat map: articles per month (columns, every month of the span) for the busiest
    topics (rows), with whole topic names and a legend of the colour steps.

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
        return _svg(360, 50, "Articles per month per topic", "No articles yet.",
                    ['<text x="10" y="30" font-size="14">No articles yet.</text>'], "articles-per-month")
    present = sorted({m for _, m in counts})
    shown_months = _months(present[0], present[-1])[-months:]
    shown_topics = sorted((slug for slug, _ in per_topic.most_common(topics)),
                          key=lambda s: (-per_topic[s], titles[s]))
    cell, top = 20, 46
    left = 12 + max(len(titles[s]) for s in shown_topics) * CHAR_WIDTH
    width = max(left + cell * len(shown_months) + 24, 12 + 18 * CHAR_WIDTH + 300)
    peak = max(counts[(s, m)] for s in shown_topics for m in shown_months) or 1
    body = []
    label_every = max(1, round(48 / cell))
    for column, month in enumerate(shown_months):
        x = left + column * cell + cell / 2
        if month.endswith("-01") or column == 0 or column % label_every == 0:
            body.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top - 1}" stroke="{INK}"/>')
        if column % label_every == 0:
            label = f"{int(month[5:7]):d}/{month[2:4]}" if not month.endswith("-01") else month[:4]
            body.append(f'<text x="{x:.1f}" y="{top - 10}" font-size="10" '
                        f'text-anchor="middle">{label}</text>')
    for row, slug in enumerate(shown_topics):
        y = top + row * cell
        body.append(f'<text x="{left - 6:.0f}" y="{y + cell * 0.68:.1f}" font-size="11" text-anchor="end">'
                    f'{escape(titles[slug])}</text>')
        for column, month in enumerate(shown_months):
            value = counts[(slug, month)]
            fill = RAMP[_bin(value, peak)] if value else EMPTY
            body.append(f'<rect x="{left + column * cell + 1:.0f}" y="{y + 1}" '
                        f'width="{cell - 2}" height="{cell - 2}" fill="{fill}" stroke="{GRID}" '
                        f'stroke-width="0.5"><title>{escape(titles[slug])}, {month}: '
                        f'{value} article{"s" if value != 1 else ""}</title></rect>')
    legend_y = top + cell * len(shown_topics) + 16
    body.append(f'<text x="12" y="{legend_y + 11}" font-size="11">Articles a month:</text>')
    x = 12 + 18 * CHAR_WIDTH
    steps = [(EMPTY, "0")]
    for index, colour in enumerate(RAMP):
        low, high = _step_range(index, peak)
        if high >= low:
            steps.append((colour, str(low) if low == high else f"{low}–{high}"))
    for colour, label in steps:
        label_w = 18 + len(label) * CHAR_WIDTH + 10
        if x + label_w > width:
            x, legend_y = 12 + 18 * CHAR_WIDTH, legend_y + 18
        body.append(f'<rect x="{x:.0f}" y="{legend_y}" width="14" height="14" fill="{colour}" '
                    f'stroke="{GRID}"/><text x="{x + 18:.0f}" y="{legend_y + 11}" '
                    f'font-size="11">{label}</text>')
        x += label_w
    busiest = ", ".join(f"{titles[s]} ({per_topic[s]})" for s in shown_topics[:3])
    return _svg(width, legend_y + 26, "Articles per month per topic",
                f"Articles per month for the {len(shown_topics)} busiest topics from {shown_months[0]} "
                f"to {shown_months[-1]}; busiest: {busiest}.", body, "articles-per-month")
