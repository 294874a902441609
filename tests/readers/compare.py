"""Compare what each client shows with what the source files say, and tally it."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.readers.clients import FeedRead, ReadItem
from tests.readers.expected import Expected

CHECKS = ("failed_feeds", "empty_feeds_refused", "missing_items", "wrong_links", "missing_images",
          "title_mismatches", "date_mismatches", "author_mismatches", "unknown_items")


def _clean(text: str | None) -> str | None:
    return re.sub(r"\s+", " ", text).strip() if text is not None else None


def same_resource(shown: str | None, expected: str | None) -> bool:
    """RFC 3986 equivalence as clients apply it: scheme and host case, an empty path is "/",
    and the fragment ignored (it never reaches the server; feed-extractor drops it)."""
    if shown is None or expected is None:
        return shown == expected

    def key(url: str) -> tuple:
        parts = urlsplit(url.strip())
        return (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query)

    return key(shown) == key(expected)


@dataclass
class Tally:
    """One client's results over every document it can read."""

    client: str
    formats: tuple[str, ...]
    feeds: int = 0
    feeds_failed: int = 0
    items: int = 0
    images_expected: int = 0
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def count(self, check: str) -> int:
        return len(self.problems.get(check, []))

    def row(self) -> dict:
        return {"client": self.client, "formats": list(self.formats),
                "feeds_read": self.feeds - self.feeds_failed,
                "feeds_failed": self.feeds_failed, "items_read": self.items,
                "items_with_image_expected": self.images_expected,
                **{check: self.count(check) for check in CHECKS}}


def _where(item: ReadItem, source: Expected | None) -> str:
    name = source.path if source else item.id
    return f"{item.feed} [{name}]"


def check_item(item: ReadItem, source: Expected, tally: Tally, check_image: bool) -> None:
    where = _where(item, source)
    if not same_resource(item.link, source.link):
        tally.problems["wrong_links"].append(f"{where}: link {item.link!r}, expected {source.link!r}")
    if source.image and check_image:
        tally.images_expected += 1
        if source.image not in item.images:
            tally.problems["missing_images"].append(
                f"{where}: image {source.image!r} not shown (client exposes {list(item.images)!r})")
    if _clean(item.title) != _clean(source.title):
        tally.problems["title_mismatches"].append(f"{where}: title {item.title!r}, expected {source.title!r}")
    if source.date is not None and item.date != source.date:
        shown = item.date.isoformat() if item.date else None
        tally.problems["date_mismatches"].append(f"{where}: date {shown}, expected {source.date.isoformat()}")
    if source.date is None and item.date is None:
        tally.problems["date_mismatches"].append(f"{where}: no date at all (a stable one is required)")
    if source.author is not None and _clean(item.author) != source.author:
        tally.problems["author_mismatches"].append(
            f"{where}: author {item.author!r}, expected {source.author!r}")


def tally(client: str, formats: tuple[str, ...], reads: list[FeedRead], by_id: dict[str, Expected],
          image_formats: tuple[str, ...], served_ids: dict[str, list[str]]) -> Tally:
    """`image_formats`: where this client can show an image at all (rss-parser: RSS only);
    `served_ids`: the entry ids each document holds, to catch items a client drops."""
    result = Tally(client, formats)
    for read in reads:
        result.feeds += 1
        if read.error:
            result.feeds_failed += 1
            kind = "failed_feeds" if served_ids.get(read.url) else "empty_feeds_refused"
            result.problems[kind].append(f"{read.url}: {read.error}")
        seen = {item.id for item in read.items}
        for ident in served_ids.get(read.url, []):
            if ident not in seen:
                name = by_id[ident].path if ident in by_id else ident
                result.problems["missing_items"].append(f"{read.url} [{name}]: served but not read")
        for item in read.items:
            result.items += 1
            source = by_id.get(item.id or "")
            if source is None:
                result.problems["unknown_items"].append(
                    f"{item.feed}: item id {item.id!r} (title {item.title!r}) matches no source file")
            elif not source.publishable:
                result.problems["unknown_items"].append(
                    f"{_where(item, source)}: published although the source says {source.reason}")
            else:
                check_item(item, source, result, read.fmt in image_formats)
    return result


def table(tallies: list[Tally]) -> str:
    """A fixed-width table for the terminal and for reports."""
    columns = [("client", 15), ("formats", 14), ("feeds", 6), ("failed", 7), ("items", 6), ("dropped", 8),
               ("wrong link", 11),
               ("no image", 9), ("title", 6), ("date", 5), ("author", 7), ("unknown", 8)]
    lines = ["  ".join(name.ljust(width) for name, width in columns)]
    for t in tallies:
        values = [t.client, "+".join(t.formats), t.feeds, t.feeds_failed, t.items, t.count("missing_items"),
                  t.count("wrong_links"),
                  f"{t.count('missing_images')}/{t.images_expected}", t.count("title_mismatches"),
                  t.count("date_mismatches"), t.count("author_mismatches"), t.count("unknown_items")]
        lines.append("  ".join(str(v).ljust(width) for v, (_, width) in zip(values, columns, strict=True)))
    return "\n".join(lines)


def first(problems: list[str], limit: int = 10) -> str:
    shown = "\n  ".join(problems[:limit])
    more = f"\n  … and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)}:\n  {shown}{more}"
