"""Honest, stable dates for articles whose file carries none.

A bare plain-text article (no front matter, no `YYYY-MM-DD-` in its name) is
still an article: it is published, dated by the first of

1. the date already recorded for its id in the store (so the date, once
   chosen, never moves: not when the file is committed later, not on a
   rebuild, not on another web instance);
2. the author date of the commit that added the file, when `content/` is in
   git (so a second store, or a fresh clone on another machine, picks the
   same date);
3. the time feedsvc first saw the file (recorded, so it holds from then on).

The id never depends on the date (it comes from the file name), so choosing
the date changes nothing a reader has already seen. Each such article gets a
warning saying which date it got and how to set one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from feedsvc.models import Article, Problem, Severity

GIT_TIMEOUT_S = 20.0
_BATCH = 200  # paths per git invocation: far below any argument-length limit
_MARK = "@@feedsvc-commit@@"

class DateRecord(Protocol):
    """Where chosen dates are kept (the store): read what stands, record new ones."""

    def article_dates(self, ids: Iterable[str]) -> dict[str, datetime]: ...

    def record_article_dates(self, proposed: Mapping[str, datetime]) -> dict[str, datetime]: ...


def git_added_dates(content_dir: Path, paths: Iterable[str]) -> dict[str, datetime]:
    """Author date of the commit that first added each path (relative to content_dir).

    Empty when content_dir is not in a git work tree, git is missing, or a
    path was never committed. Never raises: a date from git is a bonus.
    """
    wanted = list(dict.fromkeys(paths))
    found: dict[str, datetime] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start:start + _BATCH]
        try:
            out = subprocess.run(
                ["git", "-C", str(content_dir), "log", "--diff-filter=A", "--relative",
                 "--format=" + _MARK + "%aI", "--name-only", "-z", "--", *chunk],
                capture_output=True, timeout=GIT_TIMEOUT_S, check=False,
                env={"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C",
                     "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
        except (OSError, subprocess.SubprocessError):
            return found
        if out.returncode != 0:
            return found
        found.update(_parse_log(out.stdout.decode("utf-8", "surrogateescape"), set(chunk)))
    return found


def _parse_log(text: str, wanted: set[str]) -> dict[str, datetime]:
    """`git log -z` with a marked date per commit, newest commit first: the last
    date met for a path is that of the commit that added it."""
    found: dict[str, datetime] = {}
    when: datetime | None = None
    for field in text.split("\0"):
        field = field.lstrip("\n")
        if field.startswith(_MARK):
            try:
                when = datetime.fromisoformat(field[len(_MARK):]).astimezone(UTC)
            except ValueError:
                when = None
        elif when is not None and field in wanted:
            found[field] = when
    return found


def date_undated(articles: list[Article], content_dir: Path, now: datetime,
                 record: DateRecord | None = None, *,
                 keep: bool = True) -> tuple[list[Article], list[Problem]]:
    """Give every `dated=False` article its date; say which date and why.

    Dates already recorded are read first, so git is asked only about files the
    store has not dated yet (not on every scheduled rebuild). With `keep=False`
    (`check`, `preview`) the recorded dates are read but nothing new is recorded,
    so what they say is the date the feeds carry."""
    undated = [a for a in articles if not a.dated]
    if not undated:
        return articles, []
    now = now.replace(microsecond=0)
    known = record.article_dates(a.id for a in undated) if record is not None else {}
    new = [a for a in undated if a.id not in known]
    from_git = git_added_dates(content_dir, (a.source for a in new)) if new else {}
    chosen = {a.id: from_git.get(a.source, now) for a in new}
    keeping = record if record is not None and keep else None
    recorded = {**known, **(keeping.record_article_dates(chosen) if keeping is not None and chosen
                            else chosen)}
    problems: list[Problem] = []
    dated: dict[str, Article] = {}
    for article in undated:
        when = recorded[article.id]
        if article.id in known or (keeping is not None and when != chosen[article.id]):
            origin = "the date recorded when feedsvc first published it"
        elif article.source in from_git:
            origin = "the date of the commit that added the file"
        else:
            origin = "the time feedsvc first saw the file" if keeping is not None \
                else "now (a build records the time it first sees the file)"
        problems.append(Problem(article.source, 1, Severity.WARNING, (
            f"no date in the file: published as {when:%Y-%m-%d %H:%M}Z, {origin}; to choose "
            f"the date, rename the file YYYY-MM-DD-{Path(article.source).name} (this changes "
            f"its id) or give it front matter with `date:` and `id: {article.id}`")))
        dated[article.id] = replace(article, published=when, updated=when)
    return [dated.get(a.id, a) for a in articles], problems
