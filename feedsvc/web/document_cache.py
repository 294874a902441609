"""The published generation, as the web process sees it: in memory, refreshed cheaply.

A request normally touches no database: document metadata for the current
generation is held in a dict, and bodies in a size-bounded LRU keyed by their
content hash (so they survive generation changes when unchanged). At most
about once a second one request checks whether a newer generation was
published; if so, the new index replaces the old one in a single assignment.
Because bodies are content-addressed, a body always matches the ETag it is
served with: no torn reads across a publish.

When the store is unreachable the last loaded generation keeps being served,
and the failure is visible in /readyz.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from feedsvc.errors import StoreUnavailable
from feedsvc.store import Store, StoredDocument, etag_of

log = logging.getLogger(__name__)

CHARSET_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
                 "application/json", "text/x-opml", "text/html", "image/svg+xml", "text/xsl")


def _return_freed_memory() -> None:
    """Hand freed body memory back to the OS (glibc keeps it otherwise), so a
    long-running web process stays flat across generations."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass(frozen=True, slots=True)
class ServedDocument:
    """Everything needed to answer for one document, computed once per generation."""

    path: str
    blob_hash: str
    content_type: str
    etag: str          # identity representation, unquoted
    gzip_etag: str     # gzip representation, unquoted
    last_modified: datetime
    last_modified_http: str
    immutable: bool = False  # a full archive page: its entries never change

    @classmethod
    def from_stored(cls, doc: StoredDocument, *, immutable: bool = False) -> ServedDocument:
        content_type = doc.media_type
        if content_type in CHARSET_TYPES:
            content_type += "; charset=utf-8"
        tag = etag_of(doc.blob_hash)
        return cls(doc.path, doc.blob_hash, content_type, tag, tag + "-gzip",
                   doc.last_modified, format_datetime(doc.last_modified, usegmt=True), immutable)


_ARCHIVE = re.compile(r"^feeds/(?P<slug>[^/]+)/archive/(?P<page>\d+)\.(?P<ext>[a-z]+)$")


def full_archive_pages(paths: Iterable[str]) -> set[str]:
    """Archive pages that are full and final: every one but the newest of its feed.

    Pages are numbered from the oldest and filled in order, so only the newest
    page of a feed can still gain entries (or its `next-archive` link)."""
    pages: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for path in paths:
        match = _ARCHIVE.match(path)
        if match:
            pages.setdefault((match["slug"], match["ext"]), []).append((int(match["page"]), path))
    full: set[str] = set()
    for numbered in pages.values():
        newest = max(number for number, _ in numbered)
        full.update(path for number, path in numbered if number < newest)
    return full


def served_documents(stored: Iterable[StoredDocument]) -> dict[str, ServedDocument]:
    docs = list(stored)
    full = full_archive_pages(d.path for d in docs)
    return {d.path: ServedDocument.from_stored(d, immutable=d.path in full) for d in docs}


@dataclass
class GenerationIndex:
    generation: int | None = None
    published_at: datetime | None = None
    documents: dict[str, ServedDocument] = field(default_factory=dict)


class DocumentCache:
    def __init__(self, store: Store, *, check_interval: float = 1.0,
                 max_body_bytes: int = 256 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.check_interval = check_interval
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.index = GenerationIndex()
        self.last_check = float("-inf")
        self.last_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._bodies: OrderedDict[tuple[str, bool], bytes] = OrderedDict()
        self._body_bytes = 0
        self._body_lock = threading.Lock()

    # --- generation ------------------------------------------------------

    def refresh(self, *, force: bool = False) -> GenerationIndex:
        """Load a newer generation if one was published; never raises for store errors.

        While nothing is loaded yet, concurrent callers wait for the one that is
        loading instead of answering 503; afterwards a caller never waits: if
        another thread is refreshing, it serves the generation already held.
        """
        loaded = self.index.generation is not None
        if loaded and not force and self.clock() - self.last_check < self.check_interval:
            return self.index
        if not self._refresh_lock.acquire(blocking=not loaded or force):
            return self.index
        try:
            if not force and self.clock() - self.last_check < self.check_interval:
                return self.index  # refreshed by the thread we waited for
            generation = self.store.current_generation()
            if generation is not None and generation != self.index.generation:
                info = self.store.generation_info(generation)
                docs = served_documents(self.store.documents(generation))
                self.index = GenerationIndex(generation, info["created_at"] if info else None, docs)
                self._forget_bodies_not_in(docs.values())
            self.last_error = None
        except StoreUnavailable as exc:  # keep serving the generation held in memory
            error = f"{type(exc).__name__}: {exc}".split("\n")[0]
            if error != self.last_error:  # once per outage, not once per request
                if self.index.generation is None:
                    log.warning("store unavailable and nothing loaded yet: answering 503 until "
                                "a generation can be read: %s", error)
                else:
                    log.warning("store unavailable, serving generation %s from memory: %s",
                                self.index.generation, error)
            self.last_error = error
        finally:
            self.last_check = self.clock()
            self._refresh_lock.release()
        return self.index

    def _forget_bodies_not_in(self, docs: Iterable[ServedDocument]) -> None:
        """Keep memory flat across generations: drop bodies the new one no longer serves
        (a request still sending an old body holds its own reference)."""
        live = {doc.blob_hash for doc in docs}
        with self._body_lock:
            for key in [key for key in self._bodies if key[0] not in live]:
                self._body_bytes -= len(self._bodies.pop(key))
        _return_freed_memory()

    def lookup(self, path: str) -> ServedDocument | None:
        return self.refresh().documents.get(path)

    # --- bodies ----------------------------------------------------------

    def body(self, doc: ServedDocument, *, gzipped: bool) -> bytes | None:
        key = (doc.blob_hash, gzipped)
        with self._body_lock:
            cached = self._bodies.get(key)
            if cached is not None:
                self._bodies.move_to_end(key)
                return cached
        try:
            data = self.store.body(doc.blob_hash, gzipped=gzipped)
        except StoreUnavailable as exc:
            self.last_error = f"{type(exc).__name__}: {exc}".split("\n")[0]
            log.warning("cannot read %s from the store: %s", doc.path, self.last_error)
            return None
        if data is None:
            return None
        with self._body_lock:
            if key not in self._bodies and len(data) <= self.max_body_bytes:
                self._bodies[key] = data
                self._body_bytes += len(data)
                while self._body_bytes > self.max_body_bytes:
                    _, evicted = self._bodies.popitem(last=False)
                    self._body_bytes -= len(evicted)
        return data
