"""Connecting to the database: SQLite or PostgreSQL, errors turned into
StoreUnavailable at the edge, and the session settings that keep a frozen or
vanished process from holding locks for long."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from feedsvc.errors import ConnectionEnded, StoreUnavailable

# PostgreSQL SQLSTATEs the store tells apart from "the store is unavailable".
UNDEFINED_TABLE = "42P01"
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout: another session holds the row


def _raise_store_unavailable(context: ExceptionContext) -> None:
    """SQLAlchemy's handle_error hook: a failure to reach or use the database becomes
    the product's StoreUnavailable at the store's edge (integrity errors, which the
    lease logic relies on, and programming errors pass through unchanged).

    Two failures are left to their callers: the pre-ping (SQLAlchemy recognises a
    dead connection there only by its own error, and then replaces the connection
    without anyone seeing a failure: raising here made the first query after every
    database restart or killed session fail), and a lock timeout (the lease claim's
    sign that a frozen process holds the row, which it handles)."""
    if context.is_pre_ping:
        return
    original = context.original_exception
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == LOCK_NOT_AVAILABLE:
        return
    unreachable = isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)) \
        or isinstance(original, (ConnectionError, TimeoutError))
    if sqlstate == UNDEFINED_TABLE or unreachable:
        reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
        failure = ConnectionEnded if context.is_disconnect else StoreUnavailable
        raise failure(f"the store is unavailable: {reason}") from context.sqlalchemy_exception


# How the two ends of a PostgreSQL connection notice that the other end vanished. A
# process frozen inside a transaction, or whose machine vanished, would otherwise hold
# its row locks for as long as that lasts; a standby that claims the lease ends such
# sessions at once (`Store.claim_lease`), these bound it when nobody does.
IDLE_IN_TRANSACTION_S = 10
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 5, 2, 3
SESSION_LABEL = "feedsvc"


def _postgresql_session_settings() -> dict[str, Any]:
    """libpq's connection parameters and the server settings every session runs with.

    Both ends send keepalives: the client gives up on a server that stopped answering
    them (a vanished machine, a dropped network) after about 11 s, and the server
    (settings passed through `options`) ends a session whose client did, so its locks
    go with it. `idle_in_transaction_session_timeout` ends a transaction left open
    between statements. None of these fires for a client that is alive but frozen in
    the middle of a statement (its kernel still answers): that case is the takeover's.
    `tcp_user_timeout` is deliberately not set: on Linux it also dropped a healthy
    connection whose query was waiting for a lock longer than the timeout, failing
    the new leader's first publish while a frozen leader's rows were in its way."""
    server = {"idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_S * 1000,
              "tcp_keepalives_idle": KEEPALIVE_IDLE_S, "tcp_keepalives_interval": KEEPALIVE_INTERVAL_S,
              "tcp_keepalives_count": KEEPALIVE_COUNT}
    return {"keepalives": 1, "keepalives_idle": KEEPALIVE_IDLE_S,
            "keepalives_interval": KEEPALIVE_INTERVAL_S, "keepalives_count": KEEPALIVE_COUNT,
            "options": " ".join(f"-c {name}={value}" for name, value in server.items())}


def session_label(holder: str) -> str:
    """The `application_name` of a clock's PostgreSQL sessions, derived from its lease
    holder so that a new leader can find the sessions of the one it replaced. At most
    63 bytes (PostgreSQL truncates longer names): a long holder is shortened to a hash."""
    label = f"{SESSION_LABEL} {holder}"
    if len(label.encode()) <= 63:
        return label
    return f"{SESSION_LABEL} clock {hashlib.sha256(holder.encode()).hexdigest()[:32]}"


def on_connect(engine: Engine, *statements: str) -> None:
    """Run `statements` (SQLite's per-connection PRAGMAs) on every new connection."""

    @event.listens_for(engine, "connect")
    def _run(dbapi_connection: DBAPIConnection,
             _record: ConnectionPoolEntry) -> None:  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()


def engine_for(url: str, timeout: float = 30.0) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeout})
        on_connect(engine, "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                   "PRAGMA foreign_keys=ON")
        event.listen(engine, "handle_error", _raise_store_unavailable)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # pool_pre_ping: connections that died with a database restart or a killed session
    # are replaced, not used (see _raise_store_unavailable).
    engine = create_engine(parsed, pool_pre_ping=True, connect_args={
        "connect_timeout": max(1, int(timeout)), "application_name": SESSION_LABEL,
        **_postgresql_session_settings()})
    event.listen(engine, "handle_error", _raise_store_unavailable)
    return engine


def lock_timeout_for(ttl: float) -> float:
    """How long a lease claim waits for the lease row's lock: a sixth of the lease, within
    0.2 s and 5 s. Only a frozen process holds it longer than a commit takes."""
    return min(5.0, max(0.2, ttl / 6))
