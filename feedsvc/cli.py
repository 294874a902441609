"""The `feedsvc` command: a thin shell over the library.

Each command loads settings from the environment, lets options override them,
calls one library function and prints its result. Errors the user can fix are
one clear line and a non-zero exit, not a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from feedsvc import __version__
from feedsvc.settings import Settings, SettingsError, load_settings, settings_markdown_table


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


content_option = click.option(
    "--content", "content_dir", type=click.Path(path_type=Path, file_okay=False),
    help="Content directory (default: FEEDSVC_CONTENT_DIR or ./content).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedsvc")
def main() -> None:
    """Publish curated AI-ethics news as RSS, Atom and JSON feeds.

    \b
    Quick start:
      feedsvc check             validate every article in ./content
      feedsvc build             render the feeds into the store
      feedsvc export site/      write the feeds as static files
    """


@main.command()
@content_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report as human-readable lines or as JSON.")
def check(content_dir: Path | None, output_format: str) -> None:
    """Validate the content directory without publishing anything.

    Lists every problem as `path:line: severity: reason`, then a summary.
    Exits with status 1 when there is at least one error.

    \b
    Examples:
      feedsvc check
      feedsvc check --content drafts/ --format json | jq .errors
    """
    from feedsvc.build import check_content

    settings = _settings(content_dir=content_dir)
    summary = check_content(settings)
    if output_format == "json":
        click.echo(json.dumps(summary.as_json(), indent=2, ensure_ascii=False))
    else:
        for problem in summary.problems:
            click.echo(str(problem))
        click.echo(summary.line())
    sys.exit(1 if summary.errors else 0)


def _open_store(settings: Settings):
    from feedsvc.store import Store

    store = Store(settings.database_url)
    store.create()
    return store


@main.command()
@content_option
@click.option("--force", is_flag=True, help="Publish a new generation even if nothing changed.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any article has an error.")
def build(content_dir: Path | None, force: bool, strict: bool) -> None:
    """Render every feed and publish them as one new generation in the store.

    Articles with errors are reported and left out; every other article is
    published. When no input changed since the last build, nothing new is
    published and the existing documents (and their ETags) stay as they are.

    \b
    Examples:
      feedsvc build
      FEEDSVC_DATABASE_URL=postgresql://feeds@db/feeds feedsvc build --strict
    """
    from feedsvc.build import Builder

    settings = _settings(content_dir=content_dir)
    store = _open_store(settings)
    report = Builder(settings, store).build(force=force)
    for problem in report.problems:
        if problem.severity == "error":
            click.echo(str(problem), err=True)
    state = {
        "published": f"published generation {report.generation}",
        "unchanged": f"nothing changed; generation {report.generation} stays current",
        "content-unavailable": "content unavailable; the last good generation stays current",
    }[report.status]
    click.echo(f"{state}: {report.articles} articles, {report.topics} topics, "
               f"{report.documents} documents ({report.documents_written} written, "
               f"{report.documents_unchanged} unchanged), {report.errors} errors, "
               f"{report.warnings} warnings, {report.files_parsed} files parsed, "
               f"{report.files_cached} cached, {report.duration_s:.2f}s")
    failed = report.status == "content-unavailable" or (strict and report.errors)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--no-gzip", is_flag=True, help="Do not write .gz siblings for gzip_static.")
def export(directory: Path, no_gzip: bool) -> None:
    """Write the current generation as static files for nginx or a CDN.

    The layout mirrors the service's URLs: feeds/<topic>.rss|.atom|.json,
    feeds/<topic>/archive/<n>.<ext> and feeds.opml.

    \b
    Examples:
      feedsvc export site/
      feedsvc export /var/www/feeds --no-gzip
    """
    from feedsvc.export import NothingPublished, export_generation

    store = _open_store(_settings())
    try:
        count = export_generation(store, directory, gzip_siblings=not no_gzip)
    except NothingPublished as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {count} documents to {directory}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the README table of settings.")
def show_settings(markdown: bool) -> None:
    """Show every setting with its current value (from FEEDSVC_* variables)."""
    if markdown:
        click.echo(settings_markdown_table(), nl=False)
        return
    from feedsvc.settings import env_name, setting_fields

    settings = _settings()
    for f in setting_fields():
        click.echo(f"{env_name(f)}={getattr(settings, f.name)}")


if __name__ == "__main__":  # pragma: no cover
    main()
