"""The `feedsvc` command: a thin shell over the library.

Each command loads settings from the environment, lets options override them,
calls one library function and prints its result. Errors the user can fix are
one clear line and a non-zero exit, not a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from feedsvc import __version__
from feedsvc.errors import FeedsvcError
from feedsvc.settings import (
    Settings,
    SettingsError,
    as_environment,
    debug_requested,
    load_settings,
    settings_markdown_table,
)

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from feedsvc.store import Store


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


content_option = click.option(
    "--content", "content_dir", type=click.Path(path_type=Path, file_okay=False),
    help="Content directory (default: FEEDSVC_CONTENT_DIR or ./content).")


class FeedsvcGroup(click.Group):
    """Unexpected failures become one clear line (exit 1); --debug shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if (ctx.obj or {}).get("debug") or debug_requested():
                raise
            click.echo(f"error: {describe_failure(exc)} (run with --debug for the traceback)", err=True)
            ctx.exit(1)


def describe_failure(exc: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, FeedsvcError):  # the product's own errors say what happened
        return str(exc).splitlines()[0]
    if isinstance(exc, DBAPIError):
        return f"the store refused the operation: {str(exc.orig).splitlines()[0]}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


@click.group(cls=FeedsvcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedsvc")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Publish curated AI-ethics news as RSS, Atom and JSON feeds.

    \b
    Quick start:
      feedsvc serve             build, serve and rebuild locally: open http://localhost:8000/
      feedsvc check             validate every article in ./content
      feedsvc build             render the feeds into the store
      feedsvc export site/      write the feeds as static files
    """
    ctx.ensure_object(dict)["debug"] = debug


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


class Progress:
    """Progress for long work: a bar on a terminal, a plain line every 10% otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: ProgressBar[int] | None = None
        self.shown = -1

    def __enter__(self) -> Progress:
        return self

    def __call__(self, done: int, total: int) -> None:
        if total < 200:
            return
        if sys.stderr.isatty():
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.bar.pos)
            return
        tenth = done * 10 // total
        if tenth != self.shown:
            self.shown = tenth
            click.echo(f"{self.label} {done}/{total} files", err=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _open_store(settings: Settings) -> Store:
    from feedsvc.store import Store

    store = Store(settings.database_url, settings.db_timeout)
    store.create()
    return store


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
    from feedsvc.build import Builder

    settings = _settings(content_dir=content_dir)
    store = _open_store(settings)
    with Progress("parsing") as progress:
        report = Builder(settings, store).build(force=force, progress=progress,
                                                allow_shrink=allow_shrink)
    for problem in report.problems:
        if problem.severity == "error" or problem.path == str(settings.cache_dir):
            click.echo(str(problem), err=True)
    state = {
        "published": f"published generation {report.generation}",
        "unchanged": f"nothing changed; generation {report.generation} stays current",
        "content-unavailable": "content unavailable; the last good generation stays current",
        "taxonomy-invalid": "topics.yml has errors; nothing published, the last good "
                            "generation stays current",
        "shrink-refused": "too many articles would disappear; nothing published, the last "
                          "good generation stays current",
    }[report.status]
    click.echo(f"{state}: {report.articles} articles, {report.topics} topics, "
               f"{report.documents} documents ({report.documents_written} written, "
               f"{report.documents_unchanged} unchanged), {report.errors} errors, "
               f"{report.warnings} warnings, {report.files_parsed} files parsed, "
               f"{report.files_cached} cached, {report.duration_s:.2f}s")
    failed = report.refused or (strict and report.errors)
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


def _default_port() -> int:
    try:
        return int(os.environ.get("PORT", "8000"))
    except ValueError:
        raise click.UsageError(f"PORT must be a number, got {os.environ['PORT']!r}") from None


def run_web_server(server: str, host: str, port: int, workers: int, threads: int, *,
                   access_log: bool = False) -> None:
    """Run create_app() under a production WSGI server, in the foreground."""
    from feedsvc.web.multiproc import prepare_metrics_dir

    prepare_metrics_dir()  # before the workers start: one /metrics for all of them
    if server == "gunicorn":
        os.execvp(sys.executable, [  # noqa: S606 - becomes gunicorn; fixed argument list
            sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--threads", str(threads), "--worker-class", "gthread" if threads > 1 else "sync",
            "--access-logfile", "-" if access_log else "/dev/null",
            "feedsvc.web:create_app()"])
    from granian import Granian
    from granian.constants import Interfaces

    Granian("feedsvc.web:create_app", factory=True, interface=Interfaces.WSGI, address=host,
            port=port, workers=workers, blocking_threads=threads, backlog=2048,
            respawn_failed_workers=True, log_access=access_log,
            ).serve()


server_options = [
    click.option("--host", default="0.0.0.0", show_default=True,  # noqa: S104 - a server's job
                 help="Address to listen on."),
    click.option("--port", type=int, default=_default_port, show_default="$PORT or 8000",
                 help="Port to listen on."),
    click.option("--workers", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1,
                 show_default="one per CPU core", help="Worker processes."),
    click.option("--threads", type=click.IntRange(1, 256), default=4, show_default=True,
                 help="Threads per worker process."),
    click.option("--server", type=click.Choice(["granian", "gunicorn"]), default="granian",
                 show_default=True, help="WSGI server (granian measured fastest; see README)."),
]


F = TypeVar("F", bound=Callable[..., Any])


def _with_server_options(command: F) -> F:
    for option in reversed(server_options):
        command = option(command)
    return command


get_option = click.option(
    "--get", "get_path", metavar="PATH",
    help="Answer one GET request for PATH (e.g. /feeds/all.rss) without starting a server: "
         "print the body, exit 1 on an HTTP error.")


def answer_one_request(settings: Settings, path: str) -> None:
    """datasette's `--get`: the app answers one request in-process, no socket, no workers."""
    from feedsvc.web import create_app

    response = create_app({"FEEDSVC_SETTINGS": settings}).test_client().get(path)
    sys.stdout.buffer.write(response.get_data())
    sys.stdout.flush()
    if response.status_code >= 400:
        click.echo(f"error: GET {path} answered {response.status}", err=True)
        raise SystemExit(1)


@main.command()
@_with_server_options
@get_option
def web(host: str, port: int, workers: int, threads: int, server: str,
        get_path: str | None) -> None:
    """Serve the published feeds, pages and API (the Procfile `web` process).

    Reads the current generation from the store and never builds: run
    `feedsvc build` or the clock for that. Any number of web processes may
    share one store.

    \b
    Examples:
      feedsvc web --port 8000
      PORT=5000 feedsvc web --workers 4 --server gunicorn
      feedsvc web --get /feeds/privacy.atom
    """
    settings = _settings()  # refuse bad settings before any worker starts
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    run_web_server(server, host, port, workers, threads, access_log=settings.access_log)


@main.command()
@content_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=_default_port, show_default="$PORT or 8000",
              help="Port to listen on.")
@click.option("--check-links", is_flag=True,
              help="Also run the scheduled link checks (they contact every article's site).")
@get_option
def serve(content_dir: Path | None, host: str, port: int, check_links: bool,
          get_path: str | None) -> None:
    """Build, serve and rebuild on a schedule, in one process: the local way to run it all.

    Uses the embedded SQLite store and the bundled content unless told
    otherwise: builds once, prints the URLs to open, then serves while the
    clock's scheduler rebuilds every FEEDSVC_BUILD_INTERVAL seconds (so edits
    to content/ show up). Link checks run only with --check-links.

    \b
    Examples:
      feedsvc serve
      FEEDSVC_BUILD_INTERVAL=10 feedsvc serve --content ~/drafts --port 9000
      feedsvc serve --get /feeds/all.rss     # build, answer one request, exit
    """
    from feedsvc.clock import Clock
    from feedsvc.logs import configure_logging

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    base_url = None if "FEEDSVC_BASE_URL" in os.environ else f"http://{shown}:{port}"
    settings = _settings(content_dir=content_dir, base_url=base_url)
    # The server's worker process builds its settings from the environment: hand it
    # these, whole (as_environment round-trips through load_settings).
    os.environ.update(as_environment(settings))
    store = _open_store(settings)
    clock = Clock(settings, store, check_links=check_links)
    report = clock.builder.build()  # the clock's own builder: its parse cache stays warm
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    click.echo(f"{report.status}: {report.articles} articles, {report.topics} topics, "
               f"{report.errors} errors, {report.warnings} warnings")
    base = settings.base_url
    click.echo(f"\n  Site:   {base}/\n  Feeds:  {base}/feeds/all.atom  (RSS: .rss, JSON: .json)"
               f"\n  OPML:   {base}/feeds.opml\n  Links:  {base}/links\n  Status: {base}/status\n")
    configure_logging(settings.log_format)
    scheduler = clock.scheduler(blocking=False)
    scheduler.start()
    try:
        run_web_server("granian", host, port, workers=1, threads=4,
                       access_log=settings.access_log)
    finally:
        scheduler.shutdown(wait=False)


@main.command()
@content_option
@click.option("--no-links", is_flag=True, help="Do not run scheduled link checks.")
def clock(content_dir: Path | None, no_links: bool) -> None:
    """Rebuild and check links on a schedule (the Procfile `clock` process).

    Builds every FEEDSVC_BUILD_INTERVAL seconds and checks due links every
    FEEDSVC_LINKCHECK_INTERVAL seconds. Run as many clocks as you like
    against one store: one leads, the others wait to take over. Stops
    cleanly on SIGTERM or SIGINT.

    \b
    Examples:
      feedsvc clock
      FEEDSVC_LOG_FORMAT=json feedsvc clock
    """
    from feedsvc.clock import Clock
    from feedsvc.logs import configure_logging

    settings = _settings(content_dir=content_dir)
    configure_logging(settings.log_format)
    Clock(settings, _open_store(settings), check_links=not no_links).run()


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
    from feedsvc.build import load_catalog, open_parse_cache
    from feedsvc.links.run import run_link_check, select_urls
    from feedsvc.links.store import LinkStore
    from feedsvc.models import utcnow

    settings = _settings(content_dir=content_dir)
    store = _open_store(settings)
    now = utcnow()
    cache = open_parse_cache(settings)  # unchanged files are not parsed again
    summary = load_catalog(settings, cache)
    cache.save()
    new = LinkStore(store).register(summary.catalog.articles, now)
    if limit is None and not all_urls:
        limit = settings.linkcheck_batch
    urls = select_urls(LinkStore(store), all_urls=all_urls, limit=limit, now=now)
    click.echo(f"{len(urls)} URLs to check ({new} new)", err=True)
    if sys.stdout.isatty():
        with click.progressbar(length=len(urls), label="checking", file=sys.stderr) as bar:
            report = run_link_check(settings, store, urls, on_result=lambda r: bar.update(1))
    else:
        report = run_link_check(settings, store, urls, on_result=lambda r: click.echo(
            f"{r.status:<10} {r.code or '-':>3} {r.url}" + (f"  ({r.error})" if r.error else "")))
    click.echo(report.line())
    for url in report.newly_dead:
        click.echo(f"now dead: {url}")


@links.command("report")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["unchecked", "ok", "redirected", "broken", "blocked", "error", "dead"]),
              help="Only these statuses (repeatable); `dead` selects dead links.")
def links_report(output_format: str, statuses: tuple[str, ...]) -> None:
    """Report every checked link with its status, its articles and its history.

    \b
    Examples:
      feedsvc links report
      feedsvc links report --status broken --status dead --format json
    """
    from feedsvc.links.report import link_report, render_report

    store = _open_store(_settings())
    click.echo(render_report(link_report(store, statuses), output_format), nl=False)


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

    settings = _settings()
    for f in setting_fields():
        click.echo(f"{env_name(f)}={getattr(settings, f.name)}")


if __name__ == "__main__":  # pragma: no cover
    main()
