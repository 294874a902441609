"""Notice when the SQLite file a web process reads is deleted or replaced under it.

An open SQLite connection keeps reading the inode it opened, so after the
file is deleted (or swapped for another) the web process would serve the old
generation forever while every query succeeds and /readyz says all is well.
At the once-a-second generation check, the file's device and inode are
compared with the ones seen first:

* gone: the generation held in memory keeps being served, the store is not
  queried (a new connection would create an empty file in its place), and
  /readyz answers 503 saying why;
* replaced by another file: the connections are dropped so the next query
  reads the new file, and the change is logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from feedsvc.store import Store
from feedsvc.web.document_cache import DocumentCache, GenerationIndex

log = logging.getLogger(__name__)


class StoreFileWatch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None

    def check(self, store: Store) -> str | None:
        """None when the file is the one first seen (adopting a replacement), else why not."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self.identity is None:
                return None  # not created yet: the store itself says so until the first build
            return (f"the store file {self.path} is gone ({exc.strerror}); serving the "
                    "generation held in memory")
        identity = (st.st_dev, st.st_ino)
        if self.identity is None:
            self.identity = identity
        elif identity != self.identity:
            log.warning("the store file %s was replaced; reconnecting", self.path)
            store.engine.dispose()
            self.identity = identity
        return None


class WatchedDocumentCache(DocumentCache):
    """The document cache, plus the store-file identity check at each generation check."""

    def __init__(self, store: Store, watch: StoreFileWatch | None, *, check_interval: float = 1.0,
                 max_body_bytes: int = 256 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(store, check_interval=check_interval, max_body_bytes=max_body_bytes,
                         clock=clock)
        self.watch = watch
        self.file_problem: str | None = None  # set while the store file is gone

    def refresh(self, *, force: bool = False) -> GenerationIndex:
        if self.watch is None:
            return super().refresh(force=force)
        loaded = self.index.generation is not None
        if loaded and not force and self.clock() - self.last_check < self.check_interval:
            return self.index
        problem = self.file_problem = self.watch.check(self.store)
        if problem is not None:
            if problem != self.last_error:
                log.error("%s", problem)
            self.last_error = problem
            self.last_check = self.clock()
            return self.index
        return super().refresh(force=force)
