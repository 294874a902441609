"""Writes made while answering a request (rate-limit buckets, feed poll batches), and
timing the web's statements.

PostgreSQL locks rows, so the store's own engine is right for these writes.
SQLite has one writer at a time and a build holds that lock while it
publishes, so they get their own engine with a short busy timeout: they fail
fast (and the caller carries on) instead of stalling the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from feedsvc.store.engine import engine_for

if TYPE_CHECKING:
    from feedsvc.store import Store

HOT_PATH_TIMEOUT = 0.25  # seconds a request may wait for SQLite's write lock before giving up

_hot_engines: dict[tuple[int, str], Engine] = {}


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def hot_path_engine(store: Store) -> Engine:
    """The engine for writes `store`'s web makes while answering a request."""
    engine, url = store.engine, store.url
    if make_url(url).get_backend_name() != "sqlite":
        return engine
    path = sqlite_file(url)
    if path is None:  # in memory: one connection's database, nothing to share
        return engine
    key = (id(engine), url)
    hot = _hot_engines.get(key)
    if hot is None:
        # mode=rw: never create the file. If it was deleted under the web, a write here
        # must fail, not put an empty store in its place (feedsvc.web.storefile).
        hot = _hot_engines[key] = engine_for(
            f"sqlite:///file:{path.resolve()}?mode=rw&uri=true", HOT_PATH_TIMEOUT)
    return hot


def time_statements(engine: Engine, observe: Callable[[str, float], None]) -> None:
    """Call `observe(kind, seconds)` for every statement `engine` runs (kind: select,
    insert, update, delete or other), through SQLAlchemy's cursor events."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any,
                _many: bool) -> None:
        context._feedsvc_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
               _many: bool) -> None:
        started = getattr(context, "_feedsvc_started", None)
        if started is not None:
            kind = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else "other"
            observe(kind if kind in ("select", "insert", "update", "delete") else "other",
                    time.perf_counter() - started)
