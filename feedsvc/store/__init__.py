"""The store: published generations of documents, and build reports.

SQLAlchemy Core, so one code path serves SQLite (the embedded default, WAL
mode) and PostgreSQL. Bodies are content-addressed blobs shared between
generations: a rebuild that changes one feed writes one blob. A generation
becomes visible only when the `current` pointer moves, in the same transaction
that wrote its rows, so a reader sees the old generation or the new one and
never a mix. Old generations are kept for a while so that a reader that looked
up the pointer just before a publish can still finish reading.

The `Store` is made of one mixin per area (lemon24/reader's `_storage`):
generations and blobs (`generations.py`), leases (`leases.py`), the dates of
undated articles (`dates.py`), small state values (`state.py`) and the
clocks' counters and rows (`operations.py`) and the WebSub queue
(`websub.py`), over the tables of `tables.py`, the connection set-up of
`engine.py`, the fencing of `fencing.py` and the one dialect switch of
`upsert.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from feedsvc.store.common import (
    ARCHIVE_GZIP_LEVEL,
    BLOB_BATCH,
    HOT_GZIP_LEVEL,
    KEEP_GENERATIONS,
    KEEP_SECONDS,
    GenerationInfo,
    JSONObject,
    StoredDocument,
    WebSubBacklog,
    _since,
    _utc,
    body_hash,
    compress,
    etag_of,
    in_batches,
)
from feedsvc.store.dates import DatesMixin
from feedsvc.store.engine import SESSION_LABEL, engine_for, lock_timeout_for, session_label
from feedsvc.store.fencing import Fence, check_fence, fenced
from feedsvc.store.generations import GenerationsMixin
from feedsvc.store.leases import LeasesMixin
from feedsvc.store.operations import OperationsMixin
from feedsvc.store.state import StateMixin, _put_state
from feedsvc.store.tables import (
    CLOCK_LEASE,
    article_dates,
    blobs,
    clock_processes,
    documents,
    generations,
    leases,
    link_articles,
    link_checkers,
    link_checks,
    link_hosts,
    link_stats,
    links,
    metadata,
    ops_counters,
    poll_aggregators,
    poll_clients,
    poll_counts,
    rate_buckets,
    state,
    websub_queue,
)
from feedsvc.store.upsert import bump_counter, dialect_insert, insert_ignoring_duplicates, insert_many
from feedsvc.store.websub import Ping, WebSubMixin, queue_pings

# The transaction a publish hands its `in_transaction` hook: what the hook may write in.
Transaction = Connection

__all__ = [
    "ARCHIVE_GZIP_LEVEL",
    "BLOB_BATCH",
    "CLOCK_LEASE",
    "HOT_GZIP_LEVEL",
    "KEEP_GENERATIONS",
    "KEEP_SECONDS",
    "Fence",
    "GenerationInfo",
    "JSONObject",
    "Ping",
    "Store",
    "StoredDocument",
    "Transaction",
    "WebSubBacklog",
    "_put_state",
    "_since",
    "_utc",
    "article_dates",
    "blobs",
    "body_hash",
    "bump_counter",
    "check_fence",
    "clock_processes",
    "compress",
    "dialect_insert",
    "documents",
    "engine_for",
    "etag_of",
    "fenced",
    "generations",
    "in_batches",
    "insert_ignoring_duplicates",
    "insert_many",
    "leases",
    "link_articles",
    "link_checkers",
    "link_checks",
    "link_hosts",
    "link_stats",
    "links",
    "lock_timeout_for",
    "metadata",
    "ops_counters",
    "poll_aggregators",
    "poll_clients",
    "poll_counts",
    "queue_pings",
    "rate_buckets",
    "session_label",
    "state",
    "websub_queue",
]


class Store(GenerationsMixin, LeasesMixin, DatesMixin, StateMixin, OperationsMixin, WebSubMixin):
    """The store: every area's methods over one engine."""

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
        """Bring the store to this feedsvc's schema (feedsvc.store.schema): a new store is made
        at head from the tables, one made before versioning is stamped at the
        baseline, one behind is upgraded. The writer's job, at its start; the shells
        decide when a writer may migrate (feedsvc.cli). Constructing a Store touches
        nothing, so the web can make one freely."""
        from feedsvc.store.schema import upgrade

        upgrade(self.url, timeout=self.timeout)

    def close(self) -> None:
        self.engine.dispose()
