"""The store: published generations of documents, and build reports.

SQLAlchemy Core, so one code path serves SQLite (the embedded default, WAL
mode) and PostgreSQL. Bodies are content-addressed blobs shared between
generations: a rebuild that changes one feed writes one blob. A generation
becomes visible only when the `current` pointer moves, in the same transaction
that wrote its rows, so a reader sees the old generation or the new one and
never a mix. Old generations are kept for a while so that a reader that looked
up the pointer just before a publish can still finish reading.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from feedsvc.errors import LeaseLost, PublishConflict, StoreUnavailable
from feedsvc.logs import log_event
from feedsvc.models import Document, utcnow

T = TypeVar("T")
log = logging.getLogger("feedsvc.store")
# A build report as stored: a JSON object whose shape the build pipeline owns; the
# store only serialises it, so its values stay untyped here.
JSONObject = dict[str, Any]


class WebSubBacklog(TypedDict):
    """What `Store.websub_backlog` reports."""

    pending: int
    failing: int
    oldest_age_s: float


class GenerationInfo(TypedDict):
    """One published generation's row, with its report decoded."""

    id: int
    created_at: datetime
    input_fingerprint: str
    report: JSONObject


metadata = MetaData()

blobs = Table(
    "blobs", metadata,
    Column("hash", String(64), primary_key=True),
    # NULL for archive pages: only their gzip is kept (most of the store's size at
    # 100k articles), and the rare identity request is decompressed (`bodies`).
    Column("body", LargeBinary, nullable=True),
    Column("gzip", LargeBinary, nullable=False),
    # When a publish last wrote (or reused) it: blobs are written in their own short
    # transactions before the generation that uses them, so the sweep of unused blobs
    # spares young ones (NULL: written before this column existed, i.e. old).
    Column("written_at", DateTime(timezone=True)),
)
generations = Table(
    "generations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("input_fingerprint", String(64), nullable=False),
    Column("report", Text, nullable=False),
    # Who published it and under which lease epoch (NULL: an unfenced `feedsvc build`),
    # and the settings that shaped its bytes (feedsvc.drift): what an operator needs to
    # tell a failover that rewrote the feeds from one that only moved the leader.
    Column("published_by", String(200)),
    Column("lease_epoch", Integer),
    Column("settings_fingerprint", String(32)),
    Column("settings", Text),
)
documents = Table(
    "documents", metadata,
    Column("generation_id", Integer, ForeignKey("generations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("blob_hash", String(64), ForeignKey("blobs.hash"), nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("render_key", String(64), nullable=False),
)
Index("documents_blob_hash", documents.c.blob_hash)
state = Table(
    "state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Link checking (feedsvc.links.store): one row per URL, the articles that use it,
# and the history of its checks.
links = Table(
    "links", metadata,
    Column("url", String(2048), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("code", Integer),
    Column("final_url", Text),
    Column("permanent_redirect", Boolean, nullable=False),
    Column("error", Text),
    Column("checked_at", DateTime(timezone=True)),
    Column("consecutive_failures", Integer, nullable=False),
    Column("first_failure_at", DateTime(timezone=True)),
    Column("next_check_at", DateTime(timezone=True), nullable=False),
    Column("checks", Integer, nullable=False),
    Column("dead", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    # Worst first: the order /links and /api/links list URLs in (feedsvc.links.store.rank_of),
    # kept in a column so that SQL sorts, filters and pages with an index.
    Column("rank", Integer, nullable=False, default=0),
)
Index("links_due", links.c.active, links.c.next_check_at)
Index("links_rank", links.c.active, links.c.rank, links.c.url)
link_articles = Table(
    "link_articles", metadata,
    Column("url", String(2048), primary_key=True),
    Column("article_id", String(512), primary_key=True),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("published", DateTime(timezone=True), nullable=False),
    # What the live article page shows besides the link (nullable: rows from older builds).
    Column("summary", Text),
    Column("outlet", Text),
    Column("image", Text),
    Column("topics", Text),  # the article's topic slugs, comma-separated
)
link_checks = Table(
    "link_checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", Integer),
    Column("error", Text),
    Column("final_url", Text),
    Column("elapsed_ms", Integer, nullable=False),
)
Index("link_checks_url", link_checks.c.url, link_checks.c.checked_at)

link_stats = Table(
    "link_stats", metadata,
    Column("day", String(10), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)

# The date chosen for each article whose file carries none (feedsvc.content.undated):
# recorded once, so it never moves across rebuilds and web instances.
article_dates = Table(
    "article_dates", metadata,
    Column("article_id", String(512), primary_key=True),
    Column("published", DateTime(timezone=True), nullable=False),
)

CLOCK_LEASE = "clock"  # the clocks' lease: its holder is the leader

# Leader election for clock processes: one row per lease, held until it expires.
# `epoch` grows by one at every acquisition (never at a renewal) and the row is never
# deleted, so an epoch is never reused: it is the fencing token every job write checks.
# A released lease keeps its row with an empty holder.
leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("epoch", Integer, nullable=False, server_default="0"),
)

# WebSub publish pings waiting to be sent (feedsvc.websub): one row per feed, so
# repeated changes of a feed coalesce into one ping of its latest bytes. A row is
# deleted when the hub accepted the ping for its generation.
websub_queue = Table(
    "websub_queue", metadata,
    Column("feed", String(1024), primary_key=True),       # the absolute feed URL (hub.url)
    Column("hub", Text, nullable=False),
    Column("generation", Integer, nullable=False),        # the newest generation that changed it
    Column("queued_at", DateTime(timezone=True), nullable=False),  # pending since
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed attempts so far
    Column("last_error", Text),
)
Index("websub_queue_due", websub_queue.c.next_attempt_at)

# Operations (feedsvc.opsstate): cluster-wide counters (builds by status, leader
# changes, WebSub pings) and one row per clock process, so that every web's
# /metrics shows the whole system, clocks included.
ops_counters = Table(
    "ops_counters", metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Integer, nullable=False),
)
clock_processes = Table(
    "clock_processes", metadata,
    Column("holder", String(200), primary_key=True),
    Column("leader", Boolean, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("store_latency_s", Float, nullable=False),
    # The clock's own lease period: how long its row may go unrenewed before the webs
    # count it gone (whatever lease period the web itself was given). NULL: a row
    # written before this column, judged by the web's setting.
    Column("lease_seconds", Float),
)

# Rate limiting (feedsvc.web.ratelimit): one token bucket per client, shared by
# every web process; `updated` is wall-clock seconds (time.time()).
rate_buckets = Table(
    "rate_buckets", metadata,
    Column("key", String(64), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("allowed", Boolean, nullable=False),
)
Index("rate_buckets_updated", rate_buckets.c.updated)

# Feed polls (feedsvc.web.polls): per feed and UTC day, how often it was fetched,
# the distinct clients (salted hashes, kept for the current day only) and what
# aggregators say about their subscribers in their User-Agent.
poll_counts = Table(
    "poll_counts", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("polls", Integer, nullable=False),
    Column("not_modified", Integer, nullable=False),
    Column("clients", Integer),  # distinct clients, set when the day is rolled up
)
poll_clients = Table(
    "poll_clients", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("client", String(32), primary_key=True),
)
poll_aggregators = Table(
    "poll_aggregators", metadata,
    Column("day", String(10), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("reader", String(200), primary_key=True),
    Column("subscribers", Integer, nullable=False),
)

KEEP_GENERATIONS = 5
KEEP_SECONDS = 600
HOT_GZIP_LEVEL = 6      # subscription feeds and OPML: polled all day, worth squeezing
ARCHIVE_GZIP_LEVEL = 1  # archive pages: written once, fetched rarely; 4x faster to write
HASH_THREADS = 2        # sha256 and zlib release the GIL: real parallelism in threads
BLOB_BATCH = 100


SQL_BATCH = 500  # rows or IN-list values per statement: well under every driver's limits


def in_batches(items: Sequence[T], size: int = SQL_BATCH) -> Iterator[Sequence[T]]:
    """Slices of `items` small enough for one INSERT or one `IN (...)` list."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def etag_of(blob_hash: str) -> str:
    """The entity tag (unquoted) of a body: 128 bits of its SHA-256 are plenty."""
    return blob_hash[:32]


def compress(body: bytes, level: int = HOT_GZIP_LEVEL) -> bytes:
    """Deterministic gzip (no timestamp, no name) so equal bodies give equal bytes."""
    return gzip.compress(body, compresslevel=level, mtime=0)


def _digest_and_compress(body: bytes, level: int) -> tuple[str, bytes]:
    return body_hash(body), compress(body, level)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    path: str
    media_type: str
    blob_hash: str
    last_modified: datetime
    render_key: str

    @property
    def etag(self) -> str:
        """Unquoted, like ServedDocument.etag: quoting belongs to the HTTP header."""
        return etag_of(self.blob_hash)


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease a job runs under: every write the job makes checks, in its own
    transaction, that `holder` still holds lease `name` at `epoch` and that it has not
    expired. A paused process that lost its lease therefore writes nothing when it
    wakes, whatever it was in the middle of."""

    name: str
    holder: str
    epoch: int
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)


def check_fence(conn: Connection, fence: Fence | None, *, lock: bool = True) -> None:
    """Inside a write transaction: raise LeaseLost (rolling the transaction back) unless
    the fence's lease is still held.

    With `lock` (the default) a no-op UPDATE of the lease row, not a SELECT, so that it
    takes the row's lock (PostgreSQL) or the write lock (SQLite): a takeover commits
    either before this check (and fails it) or after this transaction. Without it a
    plain SELECT, which waits for nobody and locks nothing: an early way out for a
    stale process, not a guarantee. `fenced` puts the two in the right places."""
    if fence is None:
        return
    now = _utc(fence.clock())
    held = (leases.c.name == fence.name) & (leases.c.holder == fence.holder) \
        & (leases.c.epoch == fence.epoch) & (leases.c.expires_at >= now)
    if lock:
        found = conn.execute(update(leases).where(held).values(epoch=leases.c.epoch)).rowcount
    else:
        found = conn.execute(select(func.count()).select_from(leases).where(held)).scalar() or 0
    if not found:
        raise LeaseLost(f"lease {fence.name!r} epoch {fence.epoch} is no longer held by "
                        f"{fence.holder}; the write was rolled back")


@contextmanager
def fenced(engine: Engine, fence: Fence | None) -> Iterator[Connection]:
    """A write transaction that commits only while `fence`'s lease is held.

    The lease row is locked *last*, just before the commit, never across the
    transaction's own writes: a process frozen in the middle of a bulk write (SIGSTOP,
    a stalled VM, a connection cut without a FIN) then holds no lock that a standby
    needs to claim the lease, and the claim never waits on it. A takeover that commits
    before the final check fails it, one that comes after it waits only for the commit.
    SQLite has no row locks, and a deferred transaction that reads before it writes
    cannot take the write lock once another process has written (WAL's busy snapshot):
    there the locking check comes first, as the write lock is the whole database's
    anyway."""
    with engine.begin() as conn:
        lock_first = conn.dialect.name == "sqlite"
        check_fence(conn, fence, lock=lock_first)
        yield conn
        if not lock_first:
            check_fence(conn, fence)


def _utc(value: datetime) -> datetime:
    """Aware UTC, whatever the driver returns (SQLite gives naive datetimes back)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _since(started: float) -> timedelta:
    """Time elapsed since the monotonic `started`."""
    return timedelta(seconds=time.monotonic() - started)


def _whole_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


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
        raise StoreUnavailable(f"the store is unavailable: {reason}") from context.sqlalchemy_exception


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


def engine_for(url: str, timeout: float = 30.0) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection,
                            _record: ConnectionPoolEntry) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

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


class Store:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self.engine = engine_for(url, timeout)
        self._session_label = SESSION_LABEL
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "do_connect", self._name_session)

    def _name_session(self, _dialect: object, _record: object, _cargs: object,
                      cparams: dict[str, Any]) -> None:
        cparams["application_name"] = self._session_label

    def create(self) -> None:
        """Bring the store to this feedsvc's schema (feedsvc.schema): a new store is made
        by running every migration, one made before versioning is stamped at the
        baseline, one behind is upgraded. The writer's job, at its start; the shells
        decide when a writer may migrate (feedsvc.cli). Constructing a Store touches
        nothing, so the web can make one freely."""
        from feedsvc.schema import upgrade

        upgrade(self.url, timeout=self.timeout)

    def close(self) -> None:
        self.engine.dispose()

    # --- reading ---------------------------------------------------------

    def current_generation(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == "current")).scalar()
        return int(value) if value is not None else None

    def generation_info(self, generation: int) -> GenerationInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(generations).where(generations.c.id == generation)).first()
        if row is None:
            return None
        return {"id": row.id, "created_at": _utc(row.created_at),
                "input_fingerprint": row.input_fingerprint, "report": json.loads(row.report)}

    def documents(self, generation: int) -> list[StoredDocument]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents).where(documents.c.generation_id == generation)
                                .order_by(documents.c.path)).all()
        return [StoredDocument(r.path, r.media_type, r.blob_hash, _utc(r.last_modified), r.render_key)
                for r in rows]

    def bodies(self, hashes: Iterable[str], *, gzipped: bool = False) -> Iterator[tuple[str, bytes]]:
        """(hash, bytes) for each stored body, identity or gzip; an identity body kept
        only as gzip (archive pages) is decompressed here."""
        wanted = list(dict.fromkeys(hashes))
        with self.engine.connect() as conn:
            for chunk in in_batches(wanted):
                if gzipped:
                    for digest, packed in conn.execute(
                            select(blobs.c.hash, blobs.c.gzip).where(blobs.c.hash.in_(chunk))):
                        yield digest, packed
                    continue
                for digest, body, packed in conn.execute(
                        select(blobs.c.hash, blobs.c.body, blobs.c.gzip)
                        .where(blobs.c.hash.in_(chunk))):
                    yield digest, body if body is not None else gzip.decompress(packed)

    def body(self, blob_hash: str, *, gzipped: bool = False) -> bytes | None:
        return next((b for _, b in self.bodies([blob_hash], gzipped=gzipped)), None)

    def read(self, path: str, generation: int | None = None) -> tuple[StoredDocument, bytes] | None:
        generation = self.current_generation() if generation is None else generation
        if generation is None:
            return None
        doc = next((d for d in self.documents(generation) if d.path == path), None)
        if doc is None:
            return None
        return doc, self.body(doc.blob_hash) or b""

    # --- writing ---------------------------------------------------------

    def _insert_ignoring_duplicates(self, table: Table) -> Insert:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite
            return sqlite.insert(table).on_conflict_do_nothing()
        raise NotImplementedError(self.engine.dialect.name)  # pragma: no cover - only these two

    def publish(self, docs: Iterable[Document], input_fingerprint: str,
                report: JSONObject | Callable[[int, int, int], JSONObject], *,
                created_at: datetime, fence: Fence | None = None,
                settings: Mapping[str, object] | None = None, settings_fingerprint: str | None = None,
                in_transaction: Callable[[Connection, int, list[str]], None] | None = None,
                ) -> tuple[int, list[str], int]:
        """Publish a generation atomically. Returns (generation, changed paths, unchanged count).

        `docs` may be a generator: bodies are hashed and compressed in threads
        while it produces the next ones, and written in batches, so memory
        holds a few documents, not the whole site. The changed paths are those
        whose bytes differ from the previous generation's; a document with
        `body=None` must exist in it. `report` may be a function of
        (generation, written, unchanged), to store figures known only at the end.

        A document's `last_modified` is the time its bytes last changed: kept
        from the previous generation when the bytes are the same, the publish
        time when they differ. It is never derived from the content's dates:
        correcting a back-dated article changes the bytes but no entry date,
        and a client revalidating with If-Modified-Since alone must still see it.

        Bodies are written in short transactions of their own while rendering goes
        on (content-addressed and immutable, they mean nothing until a generation
        refers to them), and the generation itself in one short final transaction
        that moves the `current` pointer only if it still points where it did when
        this publish began (else PublishConflict). So no lock is held while
        rendering: a paused writer blocks nobody. With a `fence`, every one of
        these transactions checks the lease first and raises LeaseLost when it is
        gone, so a process that lost its lease writes nothing more. `settings`
        (and their fingerprint) are recorded with the generation;
        `in_transaction(conn, generation, changed)` runs inside the final
        transaction (the WebSub queue uses it: a published change always has its
        pings queued, and a rolled-back one never has).
        """
        changed_at = _whole_second(_utc(created_at))
        with self.engine.begin() as conn:
            check_fence(conn, fence, lock=False)  # fail before rendering anything for a lost lease
            current = conn.execute(select(state.c.value).where(state.c.key == "current")).scalar()
            previous: dict[str, str] = {}
            previous_modified: dict[str, datetime] = {}
            if current is not None:
                for path, digest, modified in conn.execute(
                        select(documents.c.path, documents.c.blob_hash, documents.c.last_modified)
                        .where(documents.c.generation_id == int(current))):
                    previous[path] = digest
                    previous_modified[path] = _utc(modified)
        known = set(previous.values())
        rows: list[dict[str, object]] = []
        blob_rows: list[dict[str, object]] = []
        changed: list[str] = []

        def write_blobs() -> None:
            with fenced(self.engine, fence) as conn:
                conn.execute(self._upsert_blobs(), blob_rows)
            blob_rows.clear()

        def row(doc: Document, digest: str) -> None:
            before = previous_modified.get(doc.path)
            if previous.get(doc.path) != digest:
                changed.append(doc.path)
                modified = changed_at
                if before is not None and modified <= before:
                    # HTTP dates have one-second resolution: a second change within
                    # the same second must still move Last-Modified forward.
                    modified = before + timedelta(seconds=1)
            else:
                modified = before if before is not None else changed_at
            rows.append({"path": doc.path, "media_type": doc.media_type, "blob_hash": digest,
                         "last_modified": modified, "render_key": doc.key})

        def finish(doc: Document, future: Future[tuple[str, bytes]]) -> None:
            digest, packed = future.result()
            if digest not in known:
                known.add(digest)
                # The build's own clock, like created_at and the sweep (a build that
                # began within KEEP_SECONDS keeps its blobs whatever it writes later).
                # Archive pages keep only their gzip (see `blobs`).
                blob_rows.append({"hash": digest, "body": doc.body if doc.hot else None,
                                  "gzip": packed, "written_at": _utc(created_at)})
                if len(blob_rows) >= BLOB_BATCH:
                    write_blobs()
            row(doc, digest)

        pending: deque[tuple[Document, Future[tuple[str, bytes]]]] = deque()
        with ThreadPoolExecutor(HASH_THREADS) as threads:
            for doc in docs:
                if doc.body is None:
                    if doc.path not in previous:
                        raise ValueError(f"{doc.path}: no body and nothing to reuse")
                    row(doc, previous[doc.path])
                    continue
                level = HOT_GZIP_LEVEL if doc.hot else ARCHIVE_GZIP_LEVEL
                pending.append((doc, threads.submit(_digest_and_compress, doc.body, level)))
                while len(pending) > 4 * HASH_THREADS:
                    finish(*pending.popleft())
            while pending:
                finish(*pending.popleft())
        if blob_rows:
            write_blobs()
        with fenced(self.engine, fence) as conn:
            key = conn.execute(insert(generations).values(
                created_at=_utc(created_at), input_fingerprint=input_fingerprint, report="{}",
                published_by=fence.holder if fence is not None else None,
                lease_epoch=fence.epoch if fence is not None else None,
                settings_fingerprint=settings_fingerprint,
                settings=json.dumps(dict(settings), sort_keys=True, default=str)
                if settings is not None else None,
            )).inserted_primary_key
            if key is None:  # pragma: no cover - every supported database returns it
                raise RuntimeError("the database returned no id for the new generation")
            generation: int = key[0]
            unchanged = len(rows) - len(changed)
            final = report(generation, len(changed), unchanged) if callable(report) else report
            conn.execute(update(generations).where(generations.c.id == generation).values(
                report=json.dumps(final, sort_keys=True, default=str)))
            for item in rows:
                item["generation_id"] = generation
            for chunk in in_batches(rows, 1000):
                conn.execute(insert(documents), chunk)
            self._move_current(conn, current, generation)
            if in_transaction is not None:
                in_transaction(conn, generation, changed)
            self._prune(conn, generation, _utc(created_at))
        return generation, changed, unchanged

    def _upsert_blobs(self) -> Insert:
        """INSERT of blobs that, for a body already stored, only refreshes `written_at`
        (so the sweep of unused blobs cannot take it from under this publish)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql
            pg = postgresql.insert(blobs)
            return pg.on_conflict_do_update(index_elements=[blobs.c.hash],
                                            set_={"written_at": pg.excluded.written_at})
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite
            lite = sqlite.insert(blobs)
            return lite.on_conflict_do_update(index_elements=[blobs.c.hash],
                                              set_={"written_at": lite.excluded.written_at})
        raise NotImplementedError(self.engine.dialect.name)  # pragma: no cover - only these two

    def _move_current(self, conn: Connection, expected: str | None, generation: int) -> None:
        """Compare-and-set of the `current` pointer: another publisher that got there
        first (an operator's `feedsvc build` beside the clock) makes this one fail,
        because its changed paths and Last-Modified dates were worked out against a
        generation that is no longer current."""
        if expected is None:
            try:
                conn.execute(insert(state).values(key="current", value=str(generation)))
            except IntegrityError:
                raise PublishConflict("another build published first; nothing was published") from None
            return
        moved = conn.execute(update(state).where(state.c.key == "current", state.c.value == expected)
                             .values(value=str(generation))).rowcount
        if not moved:
            raise PublishConflict("another build published first; nothing was published")

    def _prune(self, conn: Connection, newest: int, now: datetime) -> None:
        """Drop generations that are both beyond the last KEEP_GENERATIONS and older than
        KEEP_SECONDS: a web process that looked up an index a moment ago, however many
        builds ran since, still finds every body it refers to. Unused blobs go too,
        unless written in the last KEEP_SECONDS (a build under way may be about to use
        them; one that was fenced out leaves them to a later sweep)."""
        old = [g for (g,) in conn.execute(select(generations.c.id).where(
            generations.c.id <= newest - KEEP_GENERATIONS,
            generations.c.created_at < now - timedelta(seconds=KEEP_SECONDS)))]
        if not old:
            return
        conn.execute(delete(documents).where(documents.c.generation_id.in_(old)))
        conn.execute(delete(generations).where(generations.c.id.in_(old)))
        used = select(documents.c.blob_hash).distinct()
        young = now - timedelta(seconds=KEEP_SECONDS)
        conn.execute(delete(blobs).where(blobs.c.hash.not_in(used),
                                         (blobs.c.written_at.is_(None)) | (blobs.c.written_at < young)))

    # --- dates of undated articles ---------------------------------------

    def article_dates(self, ids: Iterable[str]) -> dict[str, datetime]:
        """The recorded date of each of these ids that has one."""
        recorded: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            for id_chunk in in_batches(list(ids)):
                for article_id, when in conn.execute(
                        select(article_dates.c.article_id, article_dates.c.published)
                        .where(article_dates.c.article_id.in_(id_chunk))):
                    recorded[article_id] = _utc(when)
        return recorded

    def record_article_dates(self, proposed: Mapping[str, datetime]) -> dict[str, datetime]:
        """Every id's recorded date; ids not yet recorded get (and keep) the proposed one.
        An id another process recorded first keeps that process's date (read back)."""
        rows = [{"article_id": i, "published": _utc(when)} for i, when in proposed.items()]
        with self.engine.begin() as conn:
            for row_chunk in in_batches(rows):
                conn.execute(self._insert_ignoring_duplicates(article_dates), list(row_chunk))
        return self.article_dates(proposed)

    # --- leases ----------------------------------------------------------

    def claim_lease(self, name: str, holder: str, ttl: float, now: datetime) -> int | None:
        """Take or renew the lease; the epoch `holder` holds it at until now + ttl, or None.

        A renewal (the holder's own lease, not yet expired) keeps the epoch; every
        acquisition (a free, released or expired lease, the holder's own included)
        bumps it, so a job that started under an older epoch is fenced out even when
        the same process got the lease back. Conditional UPDATEs decide between
        competing processes (the row is locked by whichever commits first); an INSERT
        race on the very first acquisition is settled by the primary key.

        A claim never waits long and never leaves the old leader in the way:
        * on PostgreSQL it waits at most `lock_timeout_for(ttl)` for the row. Only a
          process frozen or cut off inside a transaction holds the row longer; when
          its lease has run out, its sessions are ended and the claim is made again;
        * a takeover ends the replaced holder's sessions that are inside a transaction
          (a frozen leader's half-written publish would otherwise hold the rows the new
          leader's first publish writes);
        * the expiry counts from when the claim succeeded, not from `now`: a claim
          that waited must not commit a lease that has already run out.
        """
        started = time.monotonic()
        claim = self._claim_once(name, holder, ttl, _utc(now), started)
        if claim is None:
            stale = self._expired_holder(name, holder, _utc(now) + _since(started))
            if stale is None or not self.end_sessions_of(stale):
                return None
            claim = self._claim_once(name, holder, ttl, _utc(now), started)
            if claim is None:
                return None
        epoch, replaced = claim
        if epoch is not None and replaced:
            self.end_sessions_of(replaced)
        return epoch

    def _claim_once(self, name: str, holder: str, ttl: float, now: datetime,
                    started: float) -> tuple[int | None, str | None] | None:
        """One claim: (the epoch or None, the holder it replaced if any), or None when
        the lease row stayed locked past the lock timeout (PostgreSQL)."""
        mine = (leases.c.name == name) & (leases.c.holder == holder)
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_for(ttl) * 1000)}"))
                before = conn.execute(select(leases.c.holder).where(leases.c.name == name)).first()
                renewed = conn.execute(update(leases).where(mine, leases.c.expires_at >= now)
                                       .values(expires_at=now + timedelta(seconds=ttl))).rowcount
                took = not renewed and conn.execute(update(leases).where(
                    leases.c.name == name, (leases.c.expires_at < now) | (leases.c.holder == ""),
                ).values(holder=holder, epoch=leases.c.epoch + 1)).rowcount
                if renewed or took:
                    conn.execute(update(leases).where(mine).values(
                        expires_at=now + _since(started) + timedelta(seconds=ttl)))
                    epoch: int | None = conn.execute(select(leases.c.epoch).where(mine)).scalar()
                    replaced = before.holder if took and before is not None else None
                    return epoch, replaced if replaced not in ("", holder) else None
                if before is not None:
                    return None, None
                conn.execute(insert(leases).values(
                    name=name, holder=holder, epoch=1,
                    expires_at=now + _since(started) + timedelta(seconds=ttl)))
                return 1, None
        except IntegrityError:
            return None, None
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                return None
            raise

    def _expired_holder(self, name: str, holder: str, now: datetime) -> str | None:
        """The holder of lease `name` when it is another process whose lease has run out
        (read without waiting for the row's lock), else None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(leases.c.holder, leases.c.expires_at)
                               .where(leases.c.name == name)).first()
        if row is None or row.holder in ("", holder) or _utc(row.expires_at) >= now:
            return None
        return str(row.holder)

    def label_sessions(self, holder: str) -> None:
        """Name this process's PostgreSQL sessions after its lease holder (`session_label`),
        so that the clock that replaces it can end them. Open sessions are closed, so
        every session from now on carries the name."""
        self._session_label = session_label(holder)
        self.engine.dispose()

    def end_sessions_of(self, holder: str) -> list[int]:
        """End `holder`'s PostgreSQL sessions that are inside a transaction; their pids.

        Called for a holder whose lease has run out: what such a session is doing can
        only be a stale job's write, which its fence would refuse anyway, and it may
        hold row locks for as long as its process stays frozen (no server timeout ends
        a session that stopped in the middle of a statement). Ending another session
        needs the same database role, or `pg_signal_backend`: without it, this logs
        why and ends nothing, and the takeover waits for the server's timeouts."""
        if self.engine.dialect.name != "postgresql":
            return []
        try:
            with self.engine.begin() as conn:
                rows = conn.execute(text(
                    "SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
                    " WHERE application_name = :label AND datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"),
                    {"label": session_label(holder)}).all()
        except (ProgrammingError, OperationalError, StoreUnavailable) as exc:
            log_event(log, "lease_sessions_not_ended", logging.WARNING, holder=holder,
                      error=str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300],
                      fix="give every clock the same database role, or grant it pg_signal_backend")
            return []
        ended = [int(row.pid) for row in rows if row.ended]
        if ended:
            log_event(log, "lease_sessions_ended", logging.WARNING, holder=holder,
                      pids=",".join(map(str, ended)),
                      reason="its lease ran out while it was inside a transaction")
        return ended

    def fence_holds(self, fence: Fence) -> bool:
        """Whether `fence`'s lease is still held (a read: it locks nothing)."""
        try:
            with self.engine.connect() as conn:
                check_fence(conn, fence, lock=False)
        except LeaseLost:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (the row stays, with its epoch, so epochs never repeat)."""
        with self.engine.begin() as conn:
            conn.execute(update(leases).where(leases.c.name == name, leases.c.holder == holder)
                         .values(holder="", expires_at=_utc(utcnow())))

    def lease(self, name: str) -> tuple[str, datetime] | None:
        """(holder, expiry) of the lease, or None when nobody ever took it or it was released."""
        with self.engine.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).first()
        return (row.holder, _utc(row.expires_at)) if row and row.holder else None

    def lease_epoch(self, name: str) -> int:
        """The lease's latest epoch (0 when never taken): how many acquisitions so far."""
        with self.engine.connect() as conn:
            value = conn.execute(select(leases.c.epoch).where(leases.c.name == name)).scalar()
        return int(value or 0)

    def publishers(self) -> list[tuple[int, datetime, str | None, int | None]]:
        """(generation, created_at, published_by, lease_epoch) of every kept generation, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(generations.c.id, generations.c.created_at,
                                       generations.c.published_by, generations.c.lease_epoch)
                                .order_by(generations.c.id)).all()
        return [(r.id, _utc(r.created_at), r.published_by, r.lease_epoch) for r in rows]

    def generation_settings(self, generation: int | None = None) -> tuple[str, dict[str, Any]] | None:
        """(fingerprint, values) of the settings that shaped a generation (default: the
        current one); None when it has none recorded (published before they were).
        /status can compare them with its own settings (feedsvc.drift.drift)."""
        with self.engine.connect() as conn:
            if generation is None:
                value = conn.execute(select(state.c.value).where(state.c.key == "current")).scalar()
                if value is None:
                    return None
                generation = int(value)
            row = conn.execute(select(generations.c.settings_fingerprint, generations.c.settings)
                               .where(generations.c.id == generation)).first()
        if row is None or row.settings is None:
            return None
        return row.settings_fingerprint or "", json.loads(row.settings)

    def websub_backlog(self, now: datetime | None = None) -> WebSubBacklog:
        """The WebSub queue, for /metrics and /status: pings never tried yet (`pending`),
        pings that failed at least once and wait for a retry (`failing`), and the age
        in seconds of the oldest one (0 when the queue is empty)."""
        now = _utc(now or utcnow())
        with self.engine.connect() as conn:
            pending, failing, oldest = conn.execute(select(
                func.sum(case((websub_queue.c.attempts == 0, 1), else_=0)),
                func.sum(case((websub_queue.c.attempts > 0, 1), else_=0)),
                func.min(websub_queue.c.queued_at))).one()
        age = max(0.0, (now - _utc(oldest)).total_seconds()) if oldest is not None else 0.0
        return {"pending": int(pending or 0), "failing": int(failing or 0),
                "oldest_age_s": round(age, 3)}

    def record_report(self, report: JSONObject, *, fence: Fence | None = None) -> None:
        """Keep the latest build report even when no new generation was published.

        In the same transaction: count the build under its status (`ops_counters`),
        and keep the last published report and the last refused or failed one under
        their own keys, so that a stream of `unchanged` builds never hides either."""
        value = json.dumps(report, sort_keys=True, default=str)
        status = str(report.get("status", "unknown"))
        with fenced(self.engine, fence) as conn:
            _put_state(conn, "last_report", value)
            if status == "published":
                _put_state(conn, "last_published_report", value)
            elif status != "unchanged":
                _put_state(conn, "last_failed_report", value)
            if status in ("published", "unchanged"):
                _put_state(conn, "last_success_at", str(report.get("started_at", "")))
            from feedsvc.opsstate import bump_counter

            bump_counter(conn, f"builds:{status}")

    def state_values(self, *keys: str) -> dict[str, str]:
        """Raw values of these `state` rows (missing keys are left out)."""
        with self.engine.connect() as conn:
            return {key: value for key, value in conn.execute(  # noqa: C416 - Row pairs
                select(state.c.key, state.c.value).where(state.c.key.in_(keys)))}

    def put_state(self, key: str, value: JSONObject) -> None:
        """Keep one small JSON record under `key` (what the clock last did, for the pages)."""
        text = json.dumps(value, sort_keys=True, default=str)
        with self.engine.begin() as conn:
            if not conn.execute(update(state).where(state.c.key == key).values(value=text)).rowcount:
                conn.execute(insert(state).values(key=key, value=text))

    def get_state(self, key: str) -> JSONObject | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == key)).scalar()
        found = json.loads(value) if value else None
        return found if isinstance(found, dict) else None

    def last_report(self) -> JSONObject | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == "last_report")).scalar()
        return json.loads(value) if value else None


def _put_state(conn: Connection, key: str, value: str) -> None:
    """Set one `state` row, inserting it the first time."""
    if not conn.execute(update(state).where(state.c.key == key).values(value=value)).rowcount:
        conn.execute(insert(state).values(key=key, value=value))
