"""Write the current generation as static files mirroring the URL layout."""

from __future__ import annotations

import os
from pathlib import Path

from feedsvc.errors import NothingPublished
from feedsvc.store import Store

__all__ = ["NothingPublished", "export_generation"]


def export_generation(store: Store, directory: Path, *, gzip_siblings: bool = True) -> int:
    """Write every document (and `.gz` siblings for nginx `gzip_static`); return the count.

    Each file is written to a temporary name and renamed, so a web server
    reading the directory never sees a half-written feed.
    """
    generation = store.current_generation()
    if generation is None:
        raise NothingPublished("nothing has been published yet: run `feedsvc build` first")
    docs = store.documents(generation)
    root = directory.resolve()
    plain = dict(store.bodies(d.blob_hash for d in docs))
    packed = dict(store.bodies((d.blob_hash for d in docs), gzipped=True)) if gzip_siblings else {}
    for doc in docs:
        target = (root / doc.path).resolve()
        if not target.is_relative_to(root):  # pragma: no cover - paths come from our renderer
            raise ValueError(f"refusing to write outside {root}: {doc.path}")
        _write(target, plain[doc.blob_hash], doc.last_modified.timestamp())
        if gzip_siblings:
            _write(target.with_name(target.name + ".gz"), packed[doc.blob_hash],
                   doc.last_modified.timestamp())
    return len(docs)


def _write(target: Path, data: bytes, mtime: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, target)
