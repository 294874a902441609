"""Helpers and types every area of the store shares."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar

from isal import igzip
from sqlalchemy import ARRAY, ColumnElement, String, any_, bindparam
from sqlalchemy.engine import Engine
from zlib_ng import gzip_ng

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


KEEP_GENERATIONS = 5
KEEP_SECONDS = 600
# How bodies are gzipped (`compress`), by how often they are fetched. Hot documents
# (subscription feeds, OPML, the first page of each topic) are polled all day: zlib-ng's
# level 6, zlib's size in 35% less time. Archive pages (a feed's older pages, a topic's
# later pages) are written once, fetched rarely and are most of a large site's bytes:
# ISA-L's level 2. On a 10k-file site's documents, zlib-ng's level 4 packed them to
# 0.112 of their size at 250 MB/s, ISA-L's 2 to 0.140 at 920 MB/s; a cold build
# of 100,000 files spent 6.5 s of CPU in zlib-ng, and its build thread waited 3.7 s
# of it. Readers cannot tell the two apart: both write plain gzip.
HOT_GZIP_LEVEL = 6      # zlib-ng's 1-9
ARCHIVE_GZIP_LEVEL = 2  # ISA-L's 0-3
HASH_THREADS = 2        # sha256 and both compressors release the GIL: real parallelism in threads
BLOB_BATCH = 100
BLOB_WRITES_AHEAD = 2  # batches handed to the writing thread and not yet written


SQL_BATCH = 500  # rows or IN-list values per statement: well under every driver's limits


def in_batches(items: Sequence[T], size: int = SQL_BATCH) -> Iterator[Sequence[T]]:
    """Slices of `items` small enough for one INSERT or one `IN (...)` list."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def one_of(column: ColumnElement[str], name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the strings bound as `name`, in a statement built once. On
    PostgreSQL one array parameter (`= ANY`): an IN list of a few hundred values was
    expanded into as many parameters at every execution, by SQLAlchemy and then psycopg
    (whose cache of converted queries does not take statements that long), a large part
    of what writing a batch of link results cost. Elsewhere an expanding IN: pass at most
    SQL_BATCH values (`in_batches`)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def etag_of(blob_hash: str) -> str:
    """The entity tag (unquoted) of a body: 128 bits of its SHA-256 are plenty."""
    return blob_hash[:32]


def compress(body: bytes, hot: bool = True) -> bytes:
    """Deterministic gzip (no timestamp, no name) so equal bodies give equal bytes:
    zlib-ng for hot documents, ISA-L for archives (see HOT_GZIP_LEVEL).

    Both write the gzip format zlib writes; any gzip reader reads it, and Python's
    own `gzip` decompresses it."""
    if hot:
        packed: bytes = gzip_ng.compress(body, compresslevel=HOT_GZIP_LEVEL, mtime=0)  # type: ignore[no-untyped-call]
        return packed
    return igzip.compress(body, compresslevel=ARCHIVE_GZIP_LEVEL, mtime=0)


def _digest_and_compress(body: bytes, hot: bool) -> tuple[str, bytes]:
    return body_hash(body), compress(body, hot)


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


def _utc_or_none(value: datetime | None) -> datetime | None:
    """`_utc` of a nullable column."""
    return None if value is None else _utc(value)


def _since(started: float) -> timedelta:
    """Time elapsed since the monotonic `started`."""
    return timedelta(seconds=time.monotonic() - started)


def _whole_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


class StoreBase:
    """What every area of the store (a mixin of `Store`) may use."""

    url: str
    timeout: float
    engine: Engine
    _session_label: str
