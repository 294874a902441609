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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from feedsvc import __version__
from feedsvc.errors import FeedsvcError
from feedsvc.models import LINK_FILTERS, Severity
from feedsvc.settings import (
    Settings,
    SettingsError,
    as_environment,
    debug_requested,
    load_settings,
    misspelt_variables,
    settings_markdown_table,
)

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from feedsvc.models import BuildReport
    from feedsvc.store import Store


class OneLineError(click.ClickException):
    """A failure the user can fix: `error: <what>` on stderr and exit status 1,
    without click's usage text (the command line was fine; the setting is not)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise OneLineError(str(exc)) from None


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
      feedsvc serve             build, serve and republish on every save: open http://localhost:8000/
      feedsvc new "Title" --url URL --topic privacy    start an article
      feedsvc check FILE        every problem of a file, as path:line: severity: reason
      feedsvc preview FILE      the entry as RSS, Atom and JSON Feed will publish it
      feedsvc build             render the feeds into the store

    Full documentation: docs/ in the source (docs/index.md).
    """
    ctx.ensure_object(dict)["debug"] = debug
    for line in misspelt_variables():
        click.echo(line, err=True)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@content_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report as human-readable lines or as JSON.")
def check(files: tuple[Path, ...], content_dir: Path | None, output_format: str) -> None:
    """Validate the content directory (or only FILES) without publishing anything.

    Lists every problem of every file as `path:line: severity: reason`, paths
    relative to the current directory (so editors can open them), then a
    summary. With FILES, only their problems are shown; files inside the
    content directory are checked with the rest of it (duplicates, topics,
    renames), files outside it on their own against its topics.yml. Exits
    with status 1 when there is at least one error.

    \b
    Examples:
      feedsvc check
      feedsvc check content/2026-03-01-new-article.md
      feedsvc check --content drafts/ --format json | jq .errors
    """
    from feedsvc.build import check_content, check_files, problem_json
    from feedsvc.content.report import content_relative, problem_line, schedule_line, shown_path

    settings = _settings(content_dir=content_dir)
    inside, outside = content_relative(files, settings.content_dir)
    summary = check_content(settings, store=_existing_store(settings))
    problems = summary.problems
    if files:
        problems = [p for p in problems if p.path in inside] + check_files(settings, outside)
    errors = sum(1 for p in problems if p.severity == Severity.ERROR)
    if output_format == "json":
        def file_of(path: str) -> str:
            return shown_path(path, settings.content_dir)

        data = summary.as_json(file_of)
        if files:
            data["problems"] = [problem_json(p, file_of) for p in problems]
            data["errors"] = errors
            data["warnings"] = sum(1 for p in problems if p.severity == Severity.WARNING)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            click.echo(problem_line(problem, settings.content_dir))
        for change in summary.schedule:
            if not files or change.path in inside:
                click.echo(schedule_line(change, settings.content_dir))
        if files:
            warnings = sum(1 for p in problems if p.severity == Severity.WARNING)
            click.echo(f"{len(files)} file(s) checked: {errors} errors, {warnings} warnings")
        else:
            click.echo(summary.line())
    sys.exit(1 if errors else 0)


def _existing_store(settings: Settings) -> Store | None:
    """The store, if one has been published to: `check` reads it (to catch renames) but
    never creates one, and an unreachable store only costs that check."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from feedsvc.errors import StoreUnavailable
    from feedsvc.store import Store

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return None
    store = Store(settings.database_url, min(settings.db_timeout, 5.0))
    try:
        if store.current_generation() is None:
            return None
    except (SQLAlchemyError, StoreUnavailable):
        return None
    return store


@main.command("new")
@click.argument("title")
@click.option("--url", required=True, help="Address of the original article (absolute http or https).")
@click.option("--topic", "topics", multiple=True, required=True,
              help="A topic from topics.yml, by slug, title or alias (repeatable).")
@click.option("--source", help="The outlet that published it (shown as the entry's author).")
@content_option
def new_command(title: str, url: str, topics: tuple[str, ...], source: str | None,
                content_dir: Path | None) -> None:
    """Write a new, dated article file that `feedsvc check` passes clean.

    The file is content/YYYY-MM-DD-<title words>.md with today's date (UTC),
    the title, the link, the topics (as topics.yml names them), the outlet
    and an explicit `id:`, so that renaming the file later never publishes
    it again as a new item. Add a summary and a body, then run
    `feedsvc check` on it.

    \b
    Examples:
      feedsvc new "Regulators fine a face-matching firm" --url https://example.org/fine \\
          --topic "Facial recognition" --topic privacy --source "Example News"
    """
    from feedsvc.content.parse import check_url
    from feedsvc.content.scaffold import new_article
    from feedsvc.content.topics import load_taxonomy
    from feedsvc.models import utcnow

    settings = _settings(content_dir=content_dir)
    try:
        link = check_url(url)
    except ValueError as exc:
        raise OneLineError(f"--url: {exc}") from None
    taxonomy, _ = load_taxonomy(settings.content_dir)
    names: list[str] = []
    for name in topics:
        slug = taxonomy.lookup(name)
        if slug is not None:
            names.append(taxonomy.topics[slug].title)
            continue
        if taxonomy.topics and settings.undeclared_topics != "feed":
            guess = taxonomy.suggest(name)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise OneLineError(f"--topic: {name!r} is not in topics.yml{hint}; `feedsvc topics` "
                               "lists them")
        names.append(name)
    article = new_article(title, link, names, source, utcnow().replace(microsecond=0),
                          settings.id_authority)
    path = settings.content_dir / article.name
    if path.exists():
        raise OneLineError(f"{path} exists already; choose another title")
    settings.content_dir.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:
        out.write(article.text)
    click.echo(f"wrote {path}\n  add a summary and the text, then: feedsvc check {path}")


@main.command("topics")
@content_option
def topics_command(content_dir: Path | None) -> None:
    """List the topics of topics.yml with their article counts and aliases.

    Topics that articles name but topics.yml lacks are listed after them,
    with the declared name each is closest to.

    \b
    Examples:
      feedsvc topics
      feedsvc topics --content drafts/
    """
    from feedsvc.build import check_content

    settings = _settings(content_dir=content_dir)
    summary = check_content(settings)
    taxonomy = summary.load.taxonomy
    catalog = summary.catalog
    rows = [(slug, len(catalog.by_topic.get(slug, ())), topic) for slug, topic in catalog.topics.items()]
    width = max([len(slug) for slug, _, _ in rows] + [4])
    click.echo(f"{'slug':<{width}}  articles  title")
    for slug, count, topic in rows:
        aliases = f"  (aliases: {', '.join(topic.aliases)})" if topic.aliases else ""
        declared = "" if topic.declared else "  [not in topics.yml]"
        click.echo(f"{slug:<{width}}  {count:>8}  {topic.title}{aliases}{declared}")
    unknown: dict[str, int] = {}
    for article in catalog.articles:
        for name in article.topic_names:
            if taxonomy.lookup(name) is None:
                unknown[name] = unknown.get(name, 0) + 1
    if unknown and taxonomy.topics:
        click.echo("\nnamed by articles but not in topics.yml (no feed):")
        for name, count in sorted(unknown.items()):
            guess = taxonomy.suggest(name)
            hint = f"; did you mean {guess!r}?" if guess else ""
            click.echo(f"  {name!r}: {count} article(s){hint}")
    if summary.schedule:
        click.echo("\nscheduled (in no feed until then):")
        for change in summary.schedule:
            named = f" [{', '.join(change.topics)}]" if change.topics else ""
            click.echo(f"  {change.at.isoformat()}  {change.action}  {change.path}{named}")
    scheduled = f", {summary.scheduled} scheduled" if summary.scheduled else ""
    click.echo(f"\n{len(taxonomy.topics)} topics in topics.yml, {len(catalog.articles)} articles"
               f"{scheduled}")


@main.command("preview")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@content_option
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help="Only this format (rss, atom, json; repeatable). Default: all of them.")
def preview_command(file: Path, content_dir: Path | None, formats: tuple[str, ...]) -> None:
    """Print one article's entry as every feed will publish it: RSS, Atom and JSON Feed.

    The same code renders the entry as the build does: the topics it resolves
    to, its links (dead-link policy included, when the store has checked
    them) and its content, byte for byte what the feeds will hold.

    \b
    Examples:
      feedsvc preview content/2026-03-01-new-article.md
      feedsvc preview content/2026-03-01-new-article.md --format atom
    """
    from feedsvc.build import feed_options, preview_article
    from feedsvc.content.report import problem_line
    from feedsvc.render.formats import feed_formats, render_entries

    settings = _settings(content_dir=content_dir)
    known = [f.name for f in feed_formats()]
    for name in formats:
        if name not in known:
            raise OneLineError(f"--format: {name!r} is not one of {', '.join(known)}")
    article, topics, problems = preview_article(settings, file, _existing_store(settings))
    for problem in problems:
        click.echo(problem_line(problem, settings.content_dir), err=True)
    if article is None:
        raise OneLineError(f"{file} would not be published (see the problems above)")
    now = datetime.now(UTC)
    if article.published > now:
        click.echo(f"scheduled: in no feed until {article.published.isoformat()}", err=True)
    if article.expires is not None:
        gone = "expired" if article.expires <= now else "expires"
        click.echo(f"{gone}: in no feed from {article.expires.isoformat()}", err=True)
    entries = render_entries([article], topics, feed_options(settings))[0]
    for feed_format in feed_formats():
        if formats and feed_format.name not in formats:
            continue
        click.echo(f"==> {feed_format.label} ({feed_format.media_type}) <==")
        click.echo(entries[feed_format.name].decode("utf-8"))
        click.echo("")


class Progress:
    """Progress of a whole build, phase by phase (parsing files, then rendering and
    publishing documents): a bar per phase on a terminal, a plain line every 10%
    otherwise. Small amounts of work show nothing; once a build has shown its
    parsing, its publishing is shown too."""

    def __init__(self) -> None:
        self.bar: ProgressBar[int] | None = None
        self.phase = ""
        self.shown = -1
        self.active = False

    def __enter__(self) -> Progress:
        return self

    def __call__(self, done: int, total: int, phase: str = "parsing") -> None:
        if total < 200 and not self.active:
            return
        self.active = True
        unit = "files" if phase == "parsing" else "documents"
        if phase != self.phase:
            self._close()
            self.phase, self.shown = phase, -1
        if sys.stderr.isatty():
            if self.bar is None:
                label = "parsing" if phase == "parsing" else "rendering and publishing"
                self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(min(done, total) - self.bar.pos)
            return
        tenth = done * 10 // total
        if tenth != self.shown:
            self.shown = tenth
            click.echo(f"{phase} {done}/{total} {unit}", err=True)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc: object) -> None:
        self._close()


def _open_store(settings: Settings, *, write: bool = True) -> Store:
    """The store, at this feedsvc's schema or refused with one line (exit 1).

    An empty store is created by any command. A store that is behind is upgraded
    only by a writer (`write`) on SQLite, where one machine runs one feedsvc and
    the quick start must stay one command; on PostgreSQL several machines may run
    different feedsvc versions against it, so upgrading is a deliberate step
    (`feedsvc db upgrade`), never a side effect of whichever clock restarts first.
    A store ahead of this feedsvc is always refused."""
    from feedsvc.errors import StoreSchemaMismatch
    from feedsvc.schema import schema_status
    from feedsvc.store import Store

    store = Store(settings.database_url, settings.db_timeout)
    status = schema_status(store.engine)
    if status.up_to_date:
        return store
    problem = status.problem()
    migrate = status.empty or (write and status.behind and store.engine.dialect.name == "sqlite")
    if not migrate:
        raise OneLineError(str(problem))
    try:
        store.create()
    except StoreSchemaMismatch as exc:
        raise OneLineError(str(exc)) from None
    if not status.empty:
        click.echo(f"upgraded the store's schema from {status.shown()} to {status.head}", err=True)
    return store


def _refuse_unusable_schema(settings: Settings) -> None:
    """The web's start-up check: it never migrates, and refuses a store whose schema it
    was not built for. A store it cannot reach yet is not refused: the web starts and
    serves 503 until the store is back, as it does during any outage."""
    from feedsvc.errors import StoreUnavailable
    from feedsvc.schema import schema_status
    from feedsvc.store import Store

    store = Store(settings.database_url, settings.db_timeout)
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
    from feedsvc.content.renames import is_rename_warning
    from feedsvc.content.report import problem_line

    settings = _settings(content_dir=content_dir)
    store = _open_store(settings)
    with Progress() as progress:
        report = Builder(settings, store).build(force=force, progress=progress,
                                                allow_shrink=allow_shrink)
    shown = 0
    for problem in report.problems:
        if problem.path == str(settings.cache_dir):
            click.echo(str(problem), err=True)
        elif problem.severity == Severity.ERROR or is_rename_warning(problem):
            click.echo(problem_line(problem, settings.content_dir), err=True)
            shown += problem.severity == Severity.WARNING
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

    store = _open_store(_settings(), write=False)
    try:
        report = export_site(store, directory, gzip_siblings=not no_gzip)
    except (NothingPublished, ValueError) as exc:
        raise OneLineError(str(exc)) from None
    click.echo(report.line(directory))


def _default_port() -> int:
    try:
        return int(os.environ.get("PORT", "8000"))
    except ValueError:
        raise OneLineError(f"PORT must be a number, got {os.environ['PORT']!r}") from None


def refuse_busy_port(host: str, port: int) -> None:
    """One line and exit 1 when another process listens on the port (not a usage error)."""
    from feedsvc.web.listening import PortInUse, ensure_port_free

    try:
        ensure_port_free(host, port)
    except PortInUse as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


def run_web_server(server: str, host: str, port: int, workers: int, threads: int, *,
                   access_log: bool = False, kill_timeout: int | None = None,
                   stop_on_hangup: bool = False) -> None:
    """Run create_app() under a production WSGI server, in the foreground.

    `kill_timeout`: seconds granian waits for a stopping worker before killing it
    (None: wait for as long as it takes, to drain requests).
    A busy port is refused (one line, exit 1) before the server starts.
    granian answers SIGHUP by respawning its workers; with `stop_on_hangup`
    (serve, which runs in a terminal) SIGHUP stops it like SIGTERM, so closing
    the terminal does not leave it running in the background.
    """
    refuse_busy_port(host, port)
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

    granian = Granian("feedsvc.web:create_app", factory=True, interface=Interfaces.WSGI, address=host,
                      port=port, workers=workers, blocking_threads=threads,
                      respawn_failed_workers=True, log_access=access_log,
                      workers_kill_timeout=kill_timeout, **granian_limits(_settings()))
    if stop_on_hangup:  # granian installs its handlers in serve(), from these attributes
        granian.signal_handler_reload = granian.signal_handler_interrupt  # type: ignore[method-assign]
    granian.serve()


def granian_limits(settings: Settings) -> dict[str, Any]:
    """granian's connection limits, so slow clients cannot starve the others.

    granian admits at most `backpressure` connections per worker, counting those
    still sending their headers; with its default (backlog / workers) a few
    thousand half-sent requests from one address held every slot for the
    30 s header-read timeout, and normal requests waited or timed out. Idle
    connections cost the server little (no Python thread is involved until the
    headers are complete), so the slots are many, and a client gets
    FEEDSVC_WEB_HEADER_TIMEOUT to finish its headers. Keep-alive stays on: the
    header-read timeout applies to each request on a kept-alive connection too.
    """
    from granian.http import HTTP1Settings

    return {"backlog": settings.web_backlog, "backpressure": settings.web_max_connections,
            "http1_settings": HTTP1Settings(
                header_read_timeout=max(1, round(settings.web_header_timeout * 1000)),
                keep_alive=True)}


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
    share one store. Never migrates: refuses to start (exit 1) when the
    store's schema is behind this feedsvc (`feedsvc db upgrade`) or ahead of it.

    \b
    Examples:
      feedsvc web --port 8000
      PORT=5000 feedsvc web --workers 4 --server gunicorn
      feedsvc web --get /feeds/privacy.atom
    """
    settings = _settings()  # refuse bad settings before any worker starts
    _refuse_unusable_schema(settings)  # and a store it was not built for
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    run_web_server(server, host, port, workers, threads, access_log=settings.access_log)


SERVE_KILL_TIMEOUT_S = 3


def print_build(report: BuildReport, settings: Settings, *, cause: str = "") -> None:
    """One line for a build and then each of its problems as `path:line: severity: reason`
    (paths relative to the current directory), so the terminal that runs `serve` shows
    what the last save broke, not only how many things are broken."""
    from feedsvc.content.report import problem_line, schedule_line

    when = f"{report.started_at:%H:%M:%S}"
    state = {"published": f"published generation {report.generation}",
             "unchanged": "nothing changed"}.get(report.status, str(report.status))
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
@click.option("--port", type=int, default=_default_port, show_default="$PORT or 8000",
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
    import threading

    from feedsvc.clock import Clock
    from feedsvc.logs import configure_logging
    from feedsvc.watch import ContentWatcher

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    base_url = None if "FEEDSVC_BASE_URL" in os.environ else f"http://{shown}:{port}"
    settings = _settings(content_dir=content_dir, base_url=base_url)
    if get_path is None:  # before building: a second serve on a busy port only says so
        refuse_busy_port(host, port)
    # The server's worker process builds its settings from the environment: hand it
    # these, whole (as_environment round-trips through load_settings).
    os.environ.update(as_environment(settings))
    store = _open_store(settings)
    clock = Clock(settings, store, check_links=check_links)
    with Progress() as progress:  # the clock's own builder: its parse cache stays warm
        report = clock.builder.build(progress=progress)
    if get_path is not None:
        answer_one_request(settings, get_path)
        return
    print_build(report, settings)
    base = settings.base_url
    click.echo(f"\n  Site:   {base}/\n  Feeds:  {base}/feeds/all.atom  (RSS: .rss, JSON: .json)"
               f"\n  OPML:   {base}/feeds.opml\n  Links:  {base}/links\n  Status: {base}/status\n")
    if watch:
        click.echo(f"  Watching {settings.content_dir} for changes (Ctrl-C to stop)\n")
    configure_logging(settings.log_format)
    one_build_at_a_time = threading.Lock()

    def build(cause: str = "") -> None:
        with one_build_at_a_time:
            result = clock.build_job()
        if result is None:
            click.echo("another clock holds the lease on this store; it builds, not this process")
        elif cause or result.status != "unchanged":
            print_build(result, settings, cause=cause)

    def changed(paths: list[str]) -> None:
        shown_paths = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        build(cause=f"changed {shown_paths}: ")

    scheduler = clock.scheduler(blocking=False)
    scheduler.modify_job("build", func=build)  # the schedule and the watcher share one lock
    scheduler.start()
    watcher = ContentWatcher(settings.content_dir, changed).start() if watch else None
    try:
        # Ctrl-C must stop a local run: a granian worker started beside the scheduler's
        # threads can stay stuck after serving (seen: waiting on a futex after SIGINT),
        # and granian waits for it without limit unless told otherwise.
        run_web_server("granian", host, port, workers=1, threads=4,
                       access_log=settings.access_log, kill_timeout=SERVE_KILL_TIMEOUT_S,
                       stop_on_hangup=True)
    finally:
        if watcher is not None:
            watcher.stop()
        scheduler.shutdown(wait=False)


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
    # "Checked in this run" means checked since this instant, by any checker: taken
    # first, before the content is read, so that of two commands started together
    # neither has checked anything before the other's instant.
    entered = datetime.now(UTC)
    import socket
    import uuid

    from feedsvc.build import load_catalog, open_parse_cache
    from feedsvc.links.run import select_urls
    from feedsvc.links.shared import Share, run_shared_check
    from feedsvc.models import utcnow
    from feedsvc.store.linkstore import LinkStore

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
    # Shared with every other checker on this store (clocks, other `links check`s): this
    # run takes on what nobody has checked since it began, a host at a time.
    share = Share(f"links-check:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                  all_urls=all_urls, limit=limit, due_by=lambda: now, since=entered)
    if sys.stdout.isatty():
        with click.progressbar(length=len(urls), label="checking", file=sys.stderr) as bar:
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
    from feedsvc.links.report import link_report, render_report

    store = _open_store(_settings(), write=False)
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
    from feedsvc.schema import schema_status
    from feedsvc.store import Store

    settings = _settings()
    store = Store(settings.database_url, settings.db_timeout)
    status = schema_status(store.engine)
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
    from feedsvc.schema import upgrade

    settings = _settings()
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
    from feedsvc.schema import history, schema_status
    from feedsvc.store import Store

    settings = _settings()
    try:
        current = schema_status(Store(settings.database_url, settings.db_timeout).engine).current
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
    from feedsvc.backup import backup_history
    from feedsvc.store import Store

    settings = _settings()
    store = Store(settings.database_url, settings.db_timeout)
    counts = backup_history(store, path)
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
    from feedsvc.backup import restore_history
    from feedsvc.models import utcnow
    from feedsvc.store import CLOCK_LEASE

    settings = _settings()
    store = _open_store(settings)
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

    settings = _settings()
    for f in setting_fields():
        click.echo(f"{env_name(f)}={getattr(settings, f.name)}")


if __name__ == "__main__":  # pragma: no cover
    main()
