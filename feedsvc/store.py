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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from feedsvc.errors import StoreUnavailable
from feedsvc.models import Document

T = TypeVar("T")
# A build report as stored: a JSON object whose shape the build pipeline owns; the
# store only serialises it, so its values stay untyped here.
JSONObject = dict[str, Any]


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
    Column("body", LargeBinary, nullable=False),
    Column("gzip", LargeBinary, nullable=False),
)
generations = Table(
    "generations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("input_fingerprint", String(64), nullable=False),
    Column("report", Text, nullable=False),
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

# Leader election for clock processes: one row per lease, held until it expires.
leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

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


def _utc(value: datetime) -> datetime:
    """Aware UTC, whatever the driver returns (SQLite gives naive datetimes back)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _whole_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _raise_store_unavailable(context: ExceptionContext) -> None:
    """SQLAlchemy's handle_error hook: a failure to reach or use the database becomes
    the product's StoreUnavailable at the store's edge (integrity errors, which the
    lease logic relies on, and programming errors pass through unchanged)."""
    original = context.original_exception
    no_tables = getattr(original, "sqlstate", None) == "42P01"  # PostgreSQL: undefined table
    if no_tables or isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)) \
            or isinstance(original, (ConnectionError, TimeoutError)):
        reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
        raise StoreUnavailable(f"the store is unavailable: {reason}") from context.sqlalchemy_exception


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
    # pool_pre_ping: connections that died with a database restart are replaced, not used.
    engine = create_engine(parsed, pool_pre_ping=True,
                           connect_args={"connect_timeout": max(1, int(timeout))})
    event.listen(engine, "handle_error", _raise_store_unavailable)
    return engine


class Store:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.engine = engine_for(url, timeout)

    def create(self) -> None:
        """Create the tables (and a SQLite file's directory): the writer's job, at its
        start. Constructing a Store touches nothing, so the web can make one freely."""
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        metadata.create_all(self.engine)

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
        column = blobs.c.gzip if gzipped else blobs.c.body
        wanted = list(dict.fromkeys(hashes))
        with self.engine.connect() as conn:
            for chunk in in_batches(wanted):
                for row in conn.execute(select(blobs.c.hash, column).where(blobs.c.hash.in_(chunk))):
                    yield row[0], row[1]

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
                created_at: datetime) -> tuple[int, list[str], int]:
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
        """
        changed_at = _whole_second(_utc(created_at))
        with self.engine.begin() as conn:
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
            insert_blob = self._insert_ignoring_duplicates(blobs)
            changed: list[str] = []

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
                    blob_rows.append({"hash": digest, "body": doc.body, "gzip": packed})
                    if len(blob_rows) >= BLOB_BATCH:
                        conn.execute(insert_blob, blob_rows)
                        blob_rows.clear()
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
                conn.execute(insert_blob, blob_rows)
            key = conn.execute(insert(generations).values(
                created_at=_utc(created_at), input_fingerprint=input_fingerprint, report="{}",
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
            if current is None:
                conn.execute(insert(state).values(key="current", value=str(generation)))
            else:
                conn.execute(update(state).where(state.c.key == "current").values(value=str(generation)))
            self._prune(conn, generation, _utc(created_at))
        return generation, changed, unchanged

    def _prune(self, conn: Connection, newest: int, now: datetime) -> None:
        """Drop generations that are both beyond the last KEEP_GENERATIONS and older than
        KEEP_SECONDS: a web process that looked up an index a moment ago, however many
        builds ran since, still finds every body it refers to."""
        old = [g for (g,) in conn.execute(select(generations.c.id).where(
            generations.c.id <= newest - KEEP_GENERATIONS,
            generations.c.created_at < now - timedelta(seconds=KEEP_SECONDS)))]
        if not old:
            return
        conn.execute(delete(documents).where(documents.c.generation_id.in_(old)))
        conn.execute(delete(generations).where(generations.c.id.in_(old)))
        used = select(documents.c.blob_hash).distinct()
        conn.execute(delete(blobs).where(blobs.c.hash.not_in(used)))

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

    def acquire_lease(self, name: str, holder: str, ttl: float, now: datetime) -> bool:
        """Take or renew the lease; True when `holder` holds it until now + ttl.

        A single conditional UPDATE decides between competing processes (the
        row is locked by whichever commits first); an INSERT race on the very
        first acquisition is settled by the primary key.
        """
        now = _utc(now)
        expires = now + timedelta(seconds=ttl)
        try:
            with self.engine.begin() as conn:
                taken = conn.execute(update(leases).where(
                    leases.c.name == name,
                    (leases.c.holder == holder) | (leases.c.expires_at < now),
                ).values(holder=holder, expires_at=expires)).rowcount
                if taken:
                    return True
                if conn.execute(select(leases.c.name).where(leases.c.name == name)).first() is not None:
                    return False
                conn.execute(insert(leases).values(name=name, holder=holder, expires_at=expires))
                return True
        except IntegrityError:
            return False

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    def lease(self, name: str) -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).first()
        return (row.holder, _utc(row.expires_at)) if row else None

    def record_report(self, report: JSONObject) -> None:
        """Keep the latest build report even when no new generation was published.

        In the same transaction: count the build under its status (`ops_counters`),
        and keep the last published report and the last refused or failed one under
        their own keys, so that a stream of `unchanged` builds never hides either."""
        value = json.dumps(report, sort_keys=True, default=str)
        status = str(report.get("status", "unknown"))
        with self.engine.begin() as conn:
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

    def last_report(self) -> JSONObject | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == "last_report")).scalar()
        return json.loads(value) if value else None


def _put_state(conn: Connection, key: str, value: str) -> None:
    """Set one `state` row, inserting it the first time."""
    if not conn.execute(update(state).where(state.c.key == key).values(value=value)).rowcount:
        conn.execute(insert(state).values(key=key, value=value))
