"""Published generations and their content-addressed bodies."""

from __future__ import annotations

import gzip
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from feedsvc.errors import PublishConflict
from feedsvc.models import Document
from feedsvc.store.common import (
    BLOB_BATCH,
    BLOB_WRITES_AHEAD,
    HASH_THREADS,
    KEEP_GENERATIONS,
    KEEP_SECONDS,
    GenerationInfo,
    JSONObject,
    StoreBase,
    StoredDocument,
    _digest_and_compress,
    _utc,
    _whole_second,
    in_batches,
)
from feedsvc.store.fencing import Fence, check_fence, fenced
from feedsvc.store.tables import blobs, documents, generations, state
from feedsvc.store.upsert import dialect_insert


class GenerationsMixin(StoreBase):
    """Generations, documents and blobs: reading them, publishing one atomically."""

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
        only as gzip (every body written now; an older store also holds identity
        bodies of feeds and pages) is decompressed here."""
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
        previous = self._previous(fence)
        rows = _DocumentRows(previous, _whole_second(_utc(created_at)))
        self._write_bodies(docs, previous, rows, _utc(created_at), fence)
        with fenced(self.engine, fence) as conn:
            generation = self._insert_generation(conn, input_fingerprint, _utc(created_at), fence,
                                                 settings, settings_fingerprint)
            unchanged = len(rows.rows) - len(rows.changed)
            final = report(generation, len(rows.changed), unchanged) if callable(report) else report
            conn.execute(update(generations).where(generations.c.id == generation).values(
                report=json.dumps(final, sort_keys=True, default=str)))
            for item in rows.rows:
                item["generation_id"] = generation
            for chunk in in_batches(rows.rows, 1000):
                conn.execute(insert(documents), chunk)
            self._move_current(conn, previous.current, generation)
            if in_transaction is not None:
                in_transaction(conn, generation, rows.changed)
            self._prune(conn, generation, _utc(created_at))
        return generation, rows.changed, unchanged

    def _previous(self, fence: Fence | None) -> _Previous:
        """The current generation's pointer and documents, read once at the start (and
        failing at once for a lost lease, before anything is rendered)."""
        previous = _Previous(None, {}, {})
        with self.engine.begin() as conn:
            check_fence(conn, fence, lock=False)
            current = conn.execute(select(state.c.value).where(state.c.key == "current")).scalar()
            previous.current = None if current is None else str(current)
            if current is not None:
                for path, digest, modified in conn.execute(
                        select(documents.c.path, documents.c.blob_hash, documents.c.last_modified)
                        .where(documents.c.generation_id == int(current))):
                    previous.digests[path] = digest
                    previous.modified[path] = _utc(modified)
        return previous

    def _write_bodies(self, docs: Iterable[Document], previous: _Previous, rows: _DocumentRows,
                      written_at: datetime, fence: Fence | None) -> None:
        """Hash and compress each new body in threads while `docs` produces the next ones,
        and write the bodies not stored yet in fenced batches of BLOB_BATCH, in a thread
        of their own: the database's time (a commit, now and then a WAL checkpoint) is
        spent beside the rendering, not in its way. A cold build of 100,000 files spent
        2 s of its build thread committing batches. A write that fails (a lost lease)
        stops the publish at the next batch handed over."""
        known = set(previous.digests.values())
        blob_rows: list[dict[str, object]] = []
        writes: deque[Future[None]] = deque()

        def write_batch(batch: list[dict[str, object]]) -> None:
            with fenced(self.engine, fence) as conn:
                conn.execute(self._upsert_blobs(), batch)

        def write_blobs() -> None:
            writes.append(writer.submit(write_batch, blob_rows.copy()))
            blob_rows.clear()
            while len(writes) > BLOB_WRITES_AHEAD or (writes and writes[0].done()):
                writes.popleft().result()

        def finish(doc: Document, future: Future[tuple[str, bytes]]) -> None:
            digest, packed = future.result()
            if digest not in known:
                known.add(digest)
                # The build's own clock, like created_at and the sweep (a build that
                # began within KEEP_SECONDS keeps its blobs whatever it writes later).
                # Only the gzip is kept (see `blobs`).
                blob_rows.append({"hash": digest, "body": None, "gzip": packed,
                                  "written_at": written_at})
                if len(blob_rows) >= BLOB_BATCH:
                    write_blobs()
            rows.add(doc, digest)

        pending: deque[tuple[Document, Future[tuple[str, bytes]]]] = deque()
        with ThreadPoolExecutor(HASH_THREADS) as threads, ThreadPoolExecutor(1) as writer:
            for doc in docs:
                if doc.body is None:
                    if doc.path not in previous.digests:
                        raise ValueError(f"{doc.path}: no body and nothing to reuse")
                    rows.add(doc, previous.digests[doc.path])
                    continue
                pending.append((doc, threads.submit(_digest_and_compress, doc.body, doc.hot)))
                while len(pending) > 4 * HASH_THREADS:
                    finish(*pending.popleft())
            while pending:
                finish(*pending.popleft())
            if blob_rows:
                write_blobs()
            while writes:
                writes.popleft().result()

    def _insert_generation(self, conn: Connection, input_fingerprint: str, created_at: datetime,
                           fence: Fence | None, settings: Mapping[str, object] | None,
                           settings_fingerprint: str | None) -> int:
        """The new generation's row (its report is written once the counts are known)."""
        key = conn.execute(insert(generations).values(
            created_at=created_at, input_fingerprint=input_fingerprint, report="{}",
            published_by=fence.holder if fence is not None else None,
            lease_epoch=fence.epoch if fence is not None else None,
            settings_fingerprint=settings_fingerprint,
            settings=json.dumps(dict(settings), sort_keys=True, default=str)
            if settings is not None else None,
        )).inserted_primary_key
        if key is None:  # pragma: no cover - every supported database returns it
            raise RuntimeError("the database returned no id for the new generation")
        generation: int = key[0]
        return generation

    def _upsert_blobs(self) -> Insert:
        """INSERT of blobs that, for a body already stored, only refreshes `written_at`
        (so the sweep of unused blobs cannot take it from under this publish)."""
        insert_blob = dialect_insert(self.engine.dialect.name, blobs)
        return insert_blob.on_conflict_do_update(index_elements=[blobs.c.hash],
                                                 set_={"written_at": insert_blob.excluded.written_at})

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


@dataclass
class _Previous:
    """The generation a publish starts from: its id and each path's body and date."""

    current: str | None
    digests: dict[str, str]
    modified: dict[str, datetime]


class _DocumentRows:
    """The new generation's document rows, and the paths whose bytes changed.

    A document's `last_modified` is the time its bytes last changed: kept from the
    previous generation when they are the same, the publish time when they differ."""

    def __init__(self, previous: _Previous, changed_at: datetime) -> None:
        self.previous = previous
        self.changed_at = changed_at
        self.rows: list[dict[str, object]] = []
        self.changed: list[str] = []

    def add(self, doc: Document, digest: str) -> None:
        before = self.previous.modified.get(doc.path)
        if self.previous.digests.get(doc.path) != digest:
            self.changed.append(doc.path)
            modified = self.changed_at
            if before is not None and modified <= before:
                # HTTP dates have one-second resolution: a second change within
                # the same second must still move Last-Modified forward.
                modified = before + timedelta(seconds=1)
        else:
            modified = before if before is not None else self.changed_at
        self.rows.append({"path": doc.path, "media_type": doc.media_type, "blob_hash": digest,
                          "last_modified": modified, "render_key": doc.key})
