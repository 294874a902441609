"""Problems as an editor's terminal shows them: paths an editor can click.

Problems are recorded relative to the content directory (that is what /status
and the store keep, the same on every machine). On a terminal they are shown
relative to the current directory, so that `path:line:` opens the file in an
editor or IDE that recognises compiler output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from feedsvc.models import Problem, ScheduleAction, ScheduledChange


def shown_path(path: str, content_dir: Path, cwd: Path | None = None) -> str:
    """A problem's path (relative to the content directory) relative to `cwd`."""
    full = Path(path) if Path(path).is_absolute() else content_dir / path
    base = cwd if cwd is not None else Path.cwd()
    absolute = os.path.abspath(full)
    try:
        relative = os.path.relpath(absolute, os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return absolute
    # Outside the current directory an absolute path reads (and clicks) better than ../../..
    return absolute if relative.startswith("..") else relative


def problem_line(problem: Problem, content_dir: Path, cwd: Path | None = None) -> str:
    """`path:line: severity: reason`, the path relative to `cwd`."""
    where = shown_path(problem.path, content_dir, cwd)
    if problem.line:
        where = f"{where}:{problem.line}"
    return f"{where}: {problem.severity}: {problem.reason}"


def content_relative(files: Iterable[Path], content_dir: Path) -> tuple[set[str], list[Path]]:
    """Split files into paths relative to the content directory and files outside it."""
    roots = (Path(os.path.abspath(content_dir)), content_dir.resolve())
    inside: set[str] = set()
    outside: list[Path] = []
    for file in files:
        for root, path in zip(roots, (Path(os.path.abspath(file)), file.resolve()), strict=True):
            if path.is_relative_to(root):
                inside.add(path.relative_to(root).as_posix())
                break
        else:
            outside.append(file)
    return inside, outside


def schedule_line(change: ScheduledChange, content_dir: Path, cwd: Path | None = None) -> str:
    """`path: scheduled: publishes at 2026-12-07T09:00:00+00:00 "Title"` (or `expires at`),
    the path relative to `cwd` like a problem's, so editors can open the file."""
    verb = "publishes" if change.action is ScheduleAction.PUBLISH else "expires"
    return (f"{shown_path(change.path, content_dir, cwd)}: scheduled: {verb} at "
            f"{change.at.isoformat()} {change.title!r}")
