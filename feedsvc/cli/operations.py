"""Operations commands: link checks and their report (`links`), the store's schema
and link-history backups (`db`), and the settings in effect (`settings`).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedsvc.cli.base import OneLineError, content_option, load, main, open_store, plain_store
from feedsvc.models import LINK_FILTERS
from feedsvc.settings import settings_markdown_table

if TYPE_CHECKING:
    from feedsvc.links.shared import Share
    from feedsvc.settings import Settings
    from feedsvc.store import Store


@main.group()
def links() -> None:
    """Check that every article's original link still works, and report on it.

    \b
    Examples:
      feedsvc links check              check the URLs that are due
      feedsvc links check --all        check every URL now
      feedsvc links report --status dead --format markdown
    """


@links.command("check")
@content_option
@click.option("--all", "all_urls", is_flag=True, help="Check every URL now, not only those due.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Check at most this many URLs (default: FEEDSVC_LINKCHECK_BATCH unless --all).")
def links_check(content_dir: Path | None, all_urls: bool, limit: int | None) -> None:
    """Check the original URLs of the published articles, politely.

    Reads the content first so that new articles' URLs are known. Shows a
    progress bar on a terminal and one line per URL otherwise, then a summary.

    \b
    Examples:
      feedsvc links check
      feedsvc links check --all --content content/
    """
    # "Checked in this run" means checked since this instant, by any checker: taken
    # first, before the content is read, so that of two commands started together
    # neither has checked anything before the other's instant.
    entered = datetime.now(UTC)
    from feedsvc.links.run import select_urls
    from feedsvc.models import utcnow
    from feedsvc.store.linkstore import LinkStore

    settings = load(content_dir=content_dir)
    store = open_store(settings)
    now = utcnow()
    new = _register_articles(settings, store, now)
    if limit is None and not all_urls:
        limit = settings.linkcheck_batch
    urls = select_urls(LinkStore(store), all_urls=all_urls, limit=limit, now=now)
    click.echo(f"{len(urls)} URLs to check ({new} new)", err=True)
    _run_check(settings, store, _share(all_urls, limit, now, entered), len(urls))


def _register_articles(settings: Settings, store: Store, now: datetime) -> int:
    """Read the content (unchanged files are not parsed again) and register its
    articles' URLs; returns how many were new."""
    from feedsvc.build import load_catalog, open_parse_cache
    from feedsvc.store.linkstore import LinkStore

    cache = open_parse_cache(settings)
    summary = load_catalog(settings, cache)
    cache.save()
    return LinkStore(store).register(summary.catalog.articles, now)


def _share(all_urls: bool, limit: int | None, now: datetime, entered: datetime) -> Share:
    """This run's part of the work shared with every other checker on the store (clocks,
    other `links check`s): what nobody has checked since it began, a host at a time."""
    import socket
    import uuid

    from feedsvc.links.shared import Share

    return Share(f"links-check:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                 all_urls=all_urls, limit=limit, due_by=lambda: now, since=entered)


def _run_check(settings: Settings, store: Store, share: Share, count: int) -> None:
    """Check, showing a bar on a terminal and a line per URL in a log; then the summary."""
    from feedsvc.links.shared import run_shared_check

    if sys.stdout.isatty():
        with click.progressbar(length=count, label="checking", file=sys.stderr) as bar:
            report = run_shared_check(settings, store, share, on_result=lambda r: bar.update(1))
    else:
        report = run_shared_check(settings, store, share, on_result=lambda r: click.echo(
            f"{r.status:<10} {r.code or '-':>3} {r.url}" + (f"  ({r.error})" if r.error else "")))
    click.echo(report.line())
    for url in report.newly_dead:
        click.echo(f"now dead: {url}")


@links.command("report")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(LINK_FILTERS),
              help="Only these statuses (repeatable); `dead` selects dead links.")
def links_report(output_format: str, statuses: tuple[str, ...]) -> None:
    """Report every checked link with its status, its articles and its history.

    \b
    Examples:
      feedsvc links report
      feedsvc links report --status broken --status dead --format json
    """
    from feedsvc.links.health import link_report, render_report

    store = open_store(load(), write=False)
    click.echo(render_report(link_report(store, statuses), output_format), nl=False)


@main.group()
def db() -> None:
    """The store's schema version, its upgrades, and backups of link history.

    \b
    Examples:
      feedsvc db current            where the store's schema stands (exit 1 unless current)
      feedsvc db upgrade            run the migrations this feedsvc brings
      feedsvc db backup history.sqlite3
    """


@db.command("current")
def db_current() -> None:
    """Show the store's schema revision and this feedsvc's; exit 1 unless they match.

    \b
    Examples:
      feedsvc db current
      feedsvc db current || feedsvc db upgrade
    """
    from feedsvc.store.schema import schema_status

    status = schema_status(plain_store(load()).engine)
    click.echo(f"store: {status.shown()}\nfeedsvc: {status.head}")
    if not status.up_to_date:
        click.echo(status.problem() or "the store is empty: run `feedsvc db upgrade`", err=True)
        sys.exit(1)


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Upgrade the store's schema (creating an empty store), in one transaction.

    Run it once per release, before starting the new web and clock processes
    (they refuse a store that is behind). Safe to run while the old ones run: a
    migration that only adds tables or columns leaves their queries working; the
    release notes say when one does not. Back up link history first
    (`feedsvc db backup`).

    \b
    Examples:
      feedsvc db upgrade
      FEEDSVC_DATABASE_URL=postgresql://feeds@db/feeds feedsvc db upgrade
    """
    from feedsvc.errors import StoreSchemaMismatch
    from feedsvc.store.schema import upgrade

    settings = load()
    try:
        before, after = upgrade(settings.database_url, revision, settings.db_timeout)
    except StoreSchemaMismatch as exc:
        raise OneLineError(str(exc)) from None
    if before.current == after.current:
        click.echo(f"store schema is at {after.shown()}: nothing to do")
    else:
        click.echo(f"upgraded the store's schema from {before.shown()} to {after.shown()}")


@db.command("history")
def db_history() -> None:
    """List this feedsvc's schema revisions, oldest first, marking the store's.

    \b
    Examples:
      feedsvc db history
    """
    from feedsvc.errors import StoreUnavailable
    from feedsvc.store.schema import history, schema_status

    try:
        current = schema_status(plain_store(load()).engine).current
    except StoreUnavailable:
        current = None
    for revision, _down, doc in history():
        mark = "  (store)" if revision == current else ""
        click.echo(f"{revision}  {doc}{mark}")


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())


@db.command("backup")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def db_backup(path: Path) -> None:
    """Back up link history (what no build can recreate) to a new SQLite file.

    Copies each URL's state, its check history, the daily counts and the dates
    recorded for undated articles, read in one snapshot: safe while the web and
    the clock run, on SQLite and PostgreSQL. Never overwrites PATH.

    \b
    Examples:
      feedsvc db backup backups/links-$(date +%F).sqlite3
    """
    from feedsvc.store.backup import backup_history

    counts = backup_history(plain_store(load()), path)
    click.echo(f"backed up link history to {path}: {_counts_line(counts)}")


@db.command("restore")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--force", is_flag=True, help="Restore even while a clock holds the lease.")
def db_restore(path: Path, force: bool) -> None:
    """Replace the store's link history with a backup's (stop the clocks first).

    Works across databases (a SQLite store's backup restores into PostgreSQL)
    and across upgrades (a backup made at an older schema is upgraded on the way
    in). Everything else is rebuilt by the next `feedsvc build`. Refuses while a
    clock holds the store's lease: its link checks and builds would write over
    the history being restored.

    \b
    Examples:
      feedsvc db restore backups/links-2026-12-01.sqlite3
    """
    from feedsvc.models import utcnow
    from feedsvc.store import CLOCK_LEASE
    from feedsvc.store.backup import restore_history

    store = open_store(load())
    held = store.lease(CLOCK_LEASE)
    if held is not None and held[1] > utcnow() and not force:
        raise OneLineError(f"a clock is running against this store ({held[0]}, lease until "
                           f"{held[1]:%Y-%m-%d %H:%M:%S}Z): stop every clock, then restore "
                           "(--force restores anyway)")
    counts = restore_history(store, path)
    click.echo(f"restored link history from {path}: {_counts_line(counts)}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the README table of settings.")
def show_settings(markdown: bool) -> None:
    """Show every setting with its current value (from FEEDSVC_* variables).

    \b
    Examples:
      feedsvc settings
      FEEDSVC_FEED_SIZE=100 feedsvc settings | grep FEED_SIZE
      feedsvc settings --markdown > settings.md
    """
    if markdown:
        click.echo(settings_markdown_table(), nl=False)
        return
    from feedsvc.settings import env_name, setting_fields

    settings = load()
    for f in setting_fields():
        click.echo(f"{env_name(f)}={getattr(settings, f.name)}")
