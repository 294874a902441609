"""The `feedsvc` group and what every command shares: settings, stores, errors.

Errors the user can fix are one clear line and a non-zero exit, not a traceback
(`OneLineError`, `FeedsvcGroup`); opening a store decides, once for every
command, when a command may create or upgrade it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from feedsvc import __version__
from feedsvc.errors import FeedsvcError
from feedsvc.settings import Settings, SettingsError, debug_requested, load_settings, misspelt_variables

if TYPE_CHECKING:
    from feedsvc.store import Store


class OneLineError(click.ClickException):
    """A failure the user can fix: `error: <what>` on stderr and exit status 1,
    without click's usage text (the command line was fine; the setting is not)."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def load(**overrides: Any) -> Settings:
    """The settings from the environment, options overriding them; a bad setting is
    one line (exit 1), never a traceback."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise OneLineError(str(exc)) from None


content_option = click.option(
    "--content", "content_dir", type=click.Path(path_type=Path, file_okay=False),
    help="Content directory (default: FEEDSVC_CONTENT_DIR or ./content).")


def default_port() -> int:
    """$PORT (what platforms that run Procfiles set) or 8000."""
    try:
        return int(os.environ.get("PORT", "8000"))
    except ValueError:
        raise OneLineError(f"PORT must be a number, got {os.environ['PORT']!r}") from None


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
    """One line for an unexpected failure: what the product, the database or the
    operating system said, without the traceback."""
    from feedsvc.store.access import refusal_reason

    if isinstance(exc, FeedsvcError):  # the product's own errors say what happened
        return str(exc).splitlines()[0]
    refused = refusal_reason(exc)
    if refused is not None:
        return f"the store refused the operation: {refused}"
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """A command's start-up (its imports, opening the store) with the cyclic garbage
    collector paused, and what it made frozen afterwards.

    Start-up makes hundreds of thousands of long-lived objects (SQLAlchemy alone is
    most of them) and no garbage worth collecting: paused, the collector does not
    walk them again and again while they are made; frozen, it does not walk them in
    every later full collection nor once more at exit. A no-change rebuild spent
    about a tenth of its time in such walks."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def existing_store(settings: Settings) -> Store | None:
    """The store, if one has been published to: `check` reads it (to catch renames) but
    never creates one, and an unreachable store only costs that check."""
    from feedsvc.store.access import existing_store as published_store

    return published_store(settings.database_url, min(settings.db_timeout, 5.0))


def plain_store(settings: Settings) -> Store:
    """The store as it is, neither checked nor migrated: for the commands whose job is
    its schema (`db current`, `db history`, `db backup`)."""
    from feedsvc.store import Store

    return Store(settings.database_url, settings.db_timeout)


def open_store(settings: Settings, *, write: bool = True) -> Store:
    """The store, at this feedsvc's schema or refused with one line (exit 1).

    An empty store is created by any command. A store that is behind is upgraded
    only by a writer (`write`) on SQLite, where one machine runs one feedsvc and
    the quick start must stay one command; on PostgreSQL several machines may run
    different feedsvc versions against it, so upgrading is a deliberate step
    (`feedsvc db upgrade`), never a side effect of whichever clock restarts first.
    A store ahead of this feedsvc is always refused."""
    from feedsvc.errors import StoreSchemaMismatch
    from feedsvc.store.access import is_embedded
    from feedsvc.store.schema import schema_status

    store = plain_store(settings)
    status = schema_status(store.engine)
    if status.up_to_date:
        return store
    problem = status.problem()
    migrate = status.empty or (write and status.behind and is_embedded(settings.database_url))
    if not migrate:
        raise OneLineError(str(problem))
    try:
        store.create()
    except StoreSchemaMismatch as exc:
        raise OneLineError(str(exc)) from None
    if not status.empty:
        click.echo(f"upgraded the store's schema from {status.shown()} to {status.head}", err=True)
    return store
