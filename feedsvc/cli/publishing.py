"""Publishing commands: `build` renders the content into the store as a new
generation; `export` writes the current generation out as static files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedsvc.cli.base import OneLineError, collector_paused, content_option, load, main, open_store
from feedsvc.models import BuildStatus, Severity

if TYPE_CHECKING:
    from feedsvc.models import BuildReport
    from feedsvc.settings import Settings

_KEPT = "the last good generation stays current"
# What `build` says of each way a build ends (a new BuildStatus without a line fails
# with a KeyError in the tests, not silently).
BUILD_OUTCOMES: dict[BuildStatus, str] = {
    BuildStatus.PUBLISHED: "published generation {generation}",
    BuildStatus.UNCHANGED: "nothing changed; generation {generation} stays current",
    BuildStatus.CONTENT_UNAVAILABLE: f"content unavailable; {_KEPT}",
    BuildStatus.TAXONOMY_INVALID: f"topics.yml has errors; nothing published, {_KEPT}",
    BuildStatus.SHRINK_REFUSED: f"too many articles would disappear; nothing published, {_KEPT}",
}


@main.command()
@content_option
@click.option("--force", is_flag=True, help="Publish a new generation even if nothing changed.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any article has an error.")
@click.option("--allow-shrink", is_flag=True,
              help="Publish even if far fewer articles than now would remain (FEEDSVC_SHRINK_LIMIT).")
def build(content_dir: Path | None, force: bool, strict: bool, allow_shrink: bool) -> None:
    """Render every feed and publish them as one new generation in the store.

    Articles with errors are reported and left out; every other article is
    published. When no input changed since the last build, nothing new is
    published and the existing documents (and their ETags) stay as they are.
    Nothing is published (exit 1, the current generation stays) when topics.yml
    has errors, or when fewer than FEEDSVC_SHRINK_LIMIT of the current articles
    would remain, unless --allow-shrink says that is intended.

    \b
    Examples:
      feedsvc build
      FEEDSVC_DATABASE_URL=postgresql://feeds@db/feeds feedsvc build --strict
      feedsvc build --allow-shrink      after deleting most articles on purpose
    """
    with collector_paused():
        from feedsvc.content.loader import parse_cache_saved
        from feedsvc.workers import start_fork_server, worker_count

        settings = load(content_dir=content_dir)
        if not parse_cache_saved(settings.cache_dir):  # every file will be parsed: workers for sure
            start_fork_server(worker_count(settings.build_workers))
        from feedsvc.build import Builder
        from feedsvc.progress import Progress

        store = open_store(settings)
    with Progress() as progress:
        report = Builder(settings, store, once=True).build(force=force, progress=progress,
                                                           allow_shrink=allow_shrink)
    shown = _show_problems(report, settings)
    state = BUILD_OUTCOMES[report.status].format(generation=report.generation)
    click.echo(f"{state}: {report.articles} articles, {report.topics} topics, "
               f"{report.documents} documents ({report.documents_written} written, "
               f"{report.documents_unchanged} unchanged), {report.errors} errors, "
               f"{report.warnings} warnings, {report.files_parsed} files parsed, "
               f"{report.files_cached} cached, {report.duration_s:.2f}s")
    if report.warnings > shown:
        click.echo(f"{report.warnings - shown} warnings (not shown): `feedsvc check` lists them "
                   "with their path and line, as does /status")
    if report.schedule:
        first = report.schedule[0]
        click.echo(f"{len(report.schedule)} scheduled change(s), the next at {first.at.isoformat()} "
                   f"({first.action} {first.path}): a running clock or serve publishes it then; "
                   "`feedsvc check` lists them all")
    failed = report.refused or (strict and report.errors)
    sys.exit(1 if failed else 0)


def _show_problems(report: BuildReport, settings: Settings) -> int:
    """The problems a build must not hide (errors, renames, an unusable cache) on stderr;
    returns how many warnings were shown, so the rest are counted, not listed."""
    from feedsvc.content.renames import is_rename_warning
    from feedsvc.content.terminal import problem_line

    shown = 0
    for problem in report.problems:
        if problem.path == str(settings.cache_dir):
            click.echo(str(problem), err=True)
        elif problem.severity == Severity.ERROR or is_rename_warning(problem):
            click.echo(problem_line(problem, settings.content_dir), err=True)
            shown += problem.severity == Severity.WARNING
    return shown


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--no-gzip", is_flag=True, help="Do not write .gz siblings for gzip_static.")
def export(directory: Path, no_gzip: bool) -> None:
    """Write the current generation as static files for nginx or a CDN.

    The layout mirrors the service's URLs: feeds/<topic>.rss|.atom|.json,
    feeds/<topic>/archive/<n>.<ext> and feeds.opml. Each file is replaced
    atomically and carries its Last-Modified as mtime; unchanged files are left
    alone; files an earlier export wrote that are no longer published are
    removed (the manifest .feedsvc-export.json lists them; no other file in
    DIRECTORY is ever touched).

    \b
    Examples:
      feedsvc export site/
      feedsvc export /var/www/feeds --no-gzip
    """
    from feedsvc.export import NothingPublished, export_site

    store = open_store(load(), write=False)
    try:
        report = export_site(store, directory, gzip_siblings=not no_gzip)
    except (NothingPublished, ValueError) as exc:
        raise OneLineError(str(exc)) from None
    click.echo(report.line(directory))
