"""Serving commands: `web` (the Procfile web process), `serve` (everything in one
process, for a local run) and `clock` (scheduled builds and link checks).

How a server is started lives in feedsvc.web.launch and serve's loop in
feedsvc.devserver; these commands choose what to run and report it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from feedsvc.cli.base import OneLineError, content_option, default_port, load, main, open_store
from feedsvc.models import BuildStatus, Severity

if TYPE_CHECKING:
    from feedsvc.models import BuildReport
    from feedsvc.settings import Settings

log = logging.getLogger("feedsvc.web")


@contextmanager
def port_refused() -> Iterator[None]:
    """A busy port is one line and exit 1 (not a usage error, not a traceback)."""
    from feedsvc.web.listening import PortInUse

    try:
        yield
    except PortInUse as exc:
        raise OneLineError(str(exc)) from None


server_options = [
    click.option("--host", default="0.0.0.0", show_default=True,  # noqa: S104 - a server's job
                 help="Address to listen on."),
    click.option("--port", type=int, default=default_port, show_default="$PORT or 8000",
                 help="Port to listen on."),
    click.option("--workers", type=click.IntRange(1, 64), default=lambda: os.cpu_count() or 1,
                 show_default="one per CPU core", help="Worker processes."),
    click.option("--threads", type=click.IntRange(1, 256), default=4, show_default=True,
                 help="Threads per worker process."),
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
    """`--get`: print the body the app answers for PATH; exit 1 on an HTTP error."""
    from feedsvc.web.launch import answer_one_request as answer

    response = answer(settings, path)
    sys.stdout.buffer.write(response.body)
    sys.stdout.flush()
    if response.status_code >= 400:
        click.echo(f"error: GET {path} answered {response.status}", err=True)
        raise SystemExit(1)


def _refuse_unusable_schema(settings: Settings) -> None:
    """The web's start-up check: it never migrates, and refuses a store whose schema it
    was not built for. A store it cannot reach yet is not refused: the web starts and
    serves 503 until the store is back, as it does during any outage."""
    from feedsvc.cli.base import plain_store
    from feedsvc.errors import StoreUnavailable
    from feedsvc.store.schema import schema_status

    store = plain_store(settings)
    try:
        status = schema_status(store.engine)
    except StoreUnavailable as exc:
        click.echo(f"warning: schema not checked: {exc}", err=True)
        return
    finally:
        store.close()
    if status.empty:
        click.echo("warning: the store is empty: every feed answers 503 until `feedsvc build` "
                   "or a clock publishes to it", err=True)
    problem = status.problem()
    if problem is not None:
        raise OneLineError(problem)


@main.command()
@_with_server_options
@get_option
def web(host: str, port: int, workers: int, threads: int, get_path: str | None) -> None:
    """Serve the published feeds, pages and API (the Procfile `web` process).

    Reads the current generation from the store and never builds: run
    `feedsvc build` or the clock for that. Any number of web processes may
    share one store. Never migrates: refuses to start (exit 1) when the
    store's schema is behind this feedsvc (`feedsvc db upgrade`) or ahead of it.

    \b
    Examples:
      feedsvc web --port 8000
      PORT=5000 feedsvc web --workers 4
      feedsvc web --get /feeds/privacy.atom
    """
    from feedsvc.logs import configure_logging, log_event
    from feedsvc.web.launch import ServerOptions, run_web_server

    settings = load()  # refuse bad settings before any worker starts
    _refuse_unusable_schema(settings)  # and a store it was not built for
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    configure_logging(settings.log_format)

    def answering() -> None:  # granian's "Started worker" comes before its port accepts
        log_event(log, "listening", host=host, port=port, workers=workers)

    with port_refused():
        run_web_server(ServerOptions(host, port, workers, threads, access_log=settings.access_log,
                                     on_listening=answering))


def print_build(report: BuildReport | None, settings: Settings, *, cause: str = "") -> None:
    """One line for a build and then each of its problems as `path:line: severity: reason`
    (paths relative to the current directory), so the terminal that runs `serve` shows
    what the last save broke, not only how many things are broken."""
    from feedsvc.content.terminal import problem_line, schedule_line

    if report is None:
        click.echo("another clock holds the lease on this store; it builds, not this process")
        return
    when = f"{report.started_at:%H:%M:%S}"
    state = {BuildStatus.PUBLISHED: f"published generation {report.generation}",
             BuildStatus.UNCHANGED: "nothing changed"}.get(report.status, str(report.status))
    click.echo(f"{when} {cause}{state}: {report.articles} articles, {report.topics} topics, "
               f"{report.errors} errors, {report.warnings} warnings, {report.duration_s:.2f}s")
    for problem in report.problems:
        if problem.severity != Severity.INFO:
            click.echo(f"  {problem_line(problem, settings.content_dir)}")
    for change in report.schedule:
        click.echo(f"  {schedule_line(change, settings.content_dir)}")


@main.command()
@content_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=default_port, show_default="$PORT or 8000",
              help="Port to listen on.")
@click.option("--check-links", is_flag=True,
              help="Also run the scheduled link checks (they contact every article's site).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Rebuild as soon as a file in the content directory changes.")
@get_option
def serve(content_dir: Path | None, host: str, port: int, check_links: bool, watch: bool,
          get_path: str | None) -> None:
    """Build, serve, and rebuild on every save, in one process: the local way to run it all.

    Uses the embedded SQLite store and the bundled content unless told
    otherwise: builds once, prints the URLs to open, then serves. Every change
    to the content directory (an article saved, added, renamed or deleted;
    topics.yml edited) is published within a second or two, and the terminal
    shows that build's problems as `path:line: severity: reason`. The clock's
    scheduler also rebuilds every FEEDSVC_BUILD_INTERVAL seconds. Link checks
    run only with --check-links.

    \b
    Examples:
      feedsvc serve
      feedsvc serve --content ~/drafts --port 9000
      feedsvc serve --no-watch                # rebuild on the schedule only
      feedsvc serve --get /feeds/all.rss     # build, answer one request, exit
    """
    from feedsvc.clock import Clock
    from feedsvc.devserver import hand_settings_to_workers, run_local
    from feedsvc.logs import configure_logging
    from feedsvc.progress import Progress
    from feedsvc.web.listening import ensure_port_free

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    base_url = None if "FEEDSVC_BASE_URL" in os.environ else f"http://{shown}:{port}"
    settings = load(content_dir=content_dir, base_url=base_url)
    if get_path is None:  # before building: a second serve on a busy port only says so
        with port_refused():
            ensure_port_free(host, port)
    hand_settings_to_workers(settings)
    clock = Clock(settings, open_store(settings), check_links=check_links)
    with Progress() as progress:  # the clock's own builder: its parse cache stays warm
        report = clock.builder.build(progress=progress)
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    print_build(report, settings)
    base = settings.base_url

    def where_to_go() -> None:  # once the port listens: the URLs work when they are shown
        click.echo(f"\n  Site:   {base}/\n  Feeds:  {base}/feeds/all.atom  (RSS: .rss, JSON: .json)"
                   f"\n  OPML:   {base}/feeds.opml\n  Links:  {base}/links\n  Status: {base}/status\n")
        if watch:
            click.echo(f"  Watching {settings.content_dir} for changes (Ctrl-C to stop)\n")

    configure_logging(settings.log_format)
    with port_refused():
        run_local(settings, clock, host, port, watch=watch, on_listening=where_to_go,
                  on_build=lambda result, cause: print_build(result, settings, cause=cause))


@main.command()
@content_option
@click.option("--no-links", is_flag=True, help="Do not run scheduled link checks.")
def clock(content_dir: Path | None, no_links: bool) -> None:
    """Rebuild and check links on a schedule (the Procfile `clock` process).

    Builds every FEEDSVC_BUILD_INTERVAL seconds and checks due links every
    FEEDSVC_LINKCHECK_INTERVAL seconds. Run as many clocks as you like
    against one store: one leads, the others wait to take over. Stops
    cleanly on SIGTERM or SIGINT. Creates an empty store; upgrades a SQLite
    store whose schema is behind; refuses (exit 1) a PostgreSQL store that is
    behind (`feedsvc db upgrade` first) and any store ahead of this feedsvc.

    \b
    Examples:
      feedsvc clock
      FEEDSVC_LOG_FORMAT=json feedsvc clock
    """
    from feedsvc.clock import Clock
    from feedsvc.logs import configure_logging

    settings = load(content_dir=content_dir)
    configure_logging(settings.log_format)
    Clock(settings, open_store(settings), check_links=not no_links).run()
