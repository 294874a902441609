"""What every reader should show, read straight from the source files.

Deliberately independent of feedsvc's own parser: PyYAML on the front matter,
a first-line title for plain text, and the upstream schema's field names. If
this module used `feedsvc.content`, a parsing bug would be expected by the
very tests meant to catch it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

# Upstream `type` values that are news items with a date. The `_events`
# folder spells its type `conference`; people, courses, books and
# collections are not articles and carry no date.
ARTICLE_TYPES = {"article", "video", "event", "conference"}
SUFFIXES = {".md", ".markdown", ".txt"}
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")


class _StringTimestamps(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings the author typed."""


_StringTimestamps.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Expected:
    """One source file and what a reader must show for it, if it is published."""

    path: str                # relative to the content directory
    stem: str
    id: str
    link: str | None
    title: str | None
    date: datetime | None    # None: the source carries no date (readers get the service's own)
    author: str | None
    image: str | None
    original_url: str | None
    publishable: bool
    reason: str              # why it is not publishable ("" when it is)


def parse_date(value: object) -> datetime | None:
    """ISO 8601 as the upstream files write it (`Z`, offsets, 7-digit fractions)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _first_text(meta: dict, *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _author(meta: dict) -> str | None:
    provider = meta.get("provider")
    if isinstance(provider, dict) and isinstance(provider.get("name"), str):
        return provider["name"].strip() or None
    return _first_text(meta, "source", "outlet")


def _image(meta: dict) -> str | None:
    images = meta.get("images")
    if isinstance(images, list):
        for image in images:
            if isinstance(image, dict) and isinstance(image.get("url"), str) and image["url"].strip():
                return as_meant(image["url"].strip())
    return as_meant(_first_text(meta, "image"))


def as_meant(url: str | None) -> str | None:
    """The URL the file means: upstream (WordPress) writes `&` in URLs as `&#038;`.
    Read literally, `#` starts a fragment and the real parameter is lost, and the
    comparison (which ignores fragments) could not tell."""
    return url.replace("&#038;", "&") if url is not None else None


def _unpublished(meta: dict) -> str:
    if meta.get("published") is False:
        return "published: false"
    if meta.get("draft") is True:
        return "draft: true"
    if meta.get("removed") is True:
        return "removed: true"
    return ""


def read_source(root: Path, path: Path, id_authority: str, base_url: str) -> Expected:
    rel = path.relative_to(root).as_posix()
    stem = path.stem
    default_id = f"tag:{id_authority}:articles/{stem}"
    text = path.read_text(encoding="utf-8-sig")
    name_date = None
    if m := DATE_PREFIX.match(path.name):
        name_date = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)

    if not text.startswith("---"):
        # Plain text, our own article: title on the first line, linked to its own page.
        title = next((line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip()), None)
        return Expected(rel, stem, default_id, f"{base_url}/articles/{stem}", title, name_date,
                        None, None, None, publishable=bool(title), reason="" if title else "empty file")

    match = FRONT_MATTER.match(text)
    if not match:
        return Expected(rel, stem, default_id, None, None, None, None, None, None, False,
                        "front matter never closed (corrupt upstream file)")
    meta = yaml.load(match.group(1), Loader=_StringTimestamps)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(meta, dict):
        return Expected(rel, stem, default_id, None, None, None, None, None, None, False,
                        "front matter is not a mapping")
    original = as_meant(_first_text(meta, "originalUrl"))
    link = as_meant(_first_text(meta, "url", "originalUrl", "webUrl", "website"))
    title = _first_text(meta, "title", "name")
    # An event's startDateTime is when it happens, not when it was announced: a
    # future event dated in the future would sit atop every reader. Its
    # publication date is the Jekyll post date, the file name's.
    date = parse_date(meta.get("date") or meta.get("publishedDateTime") or meta.get("pubDate")) or name_date
    kind = meta.get("type")
    reason = _unpublished(meta)
    if not reason and kind is not None and kind not in ARTICLE_TYPES:
        reason = f"type: {kind} is not an article"
    if not reason and date is None:
        reason = "no date"
    if not reason and not link:
        reason = "no link"
    if not reason and not title:
        reason = "no title"
    ident = meta["id"].strip() if isinstance(meta.get("id"), str) and meta["id"].strip() else default_id
    return Expected(rel, stem, ident, link, title, date, _author(meta), _image(meta), original,
                    publishable=not reason, reason=reason)


def read_sources(root: Path, id_authority: str, base_url: str) -> list[Expected]:
    """Every article file under `root` (hidden files and topics.yml left out), by path."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    return [read_source(root, p, id_authority, base_url) for p in files]


def duplicate_groups(sources: list[Expected]) -> list[list[Expected]]:
    """Publishable files sharing one original URL: the service publishes exactly one of each."""
    groups: dict[str, list[Expected]] = defaultdict(list)
    for source in sources:
        if source.publishable and source.original_url:
            groups[source.original_url].append(source)
    return [group for group in groups.values() if len(group) > 1]
