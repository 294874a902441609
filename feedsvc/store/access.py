"""What the shells need to know about a store without knowing SQLAlchemy.

The CLI opens stores, asks whether one has been published to, and turns a
database's refusal into one line for the user; the knowledge of URLs, dialects
and driver exceptions those take stays here, inside the store, so the CLI
imports no SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from feedsvc.errors import StoreUnavailable

if TYPE_CHECKING:
    from feedsvc.store import Store


def is_embedded(url: str) -> bool:
    """An embedded (SQLite) store: one machine runs one feedsvc against it, so a writer
    may upgrade its schema in passing (a shared store is upgraded deliberately)."""
    return make_url(url).get_backend_name() == "sqlite"


def existing_store(url: str, timeout: float) -> Store | None:
    """The store at `url`, if one has been published to; None otherwise.

    For readers that only gain from a store (`check` and `preview` read link
    state and renames from it): they never create one, and an unreachable or
    unpublished store only costs them what it would have told."""
    from feedsvc.store import Store

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database
                                                      and Path(parsed.database).is_file()):
        return None
    store = Store(url, timeout)
    try:
        if store.current_generation() is None:
            return None
    except (SQLAlchemyError, StoreUnavailable):
        return None
    return store


def refusal_reason(exc: BaseException) -> str | None:
    """The database's own one-line reason, when `exc` is a database refusing an
    operation (a constraint, a permission, a read-only store); None otherwise."""
    if isinstance(exc, DBAPIError):
        return str(exc.orig).splitlines()[0]
    return None
