"""Write the current generation as static files mirroring the URL layout, for nginx or a CDN.

What makes an export safe to serve while it runs, and to sync to a CDN:

* **Streamed.** Bodies are read from the store a few dozen documents at a time and
  written at once, so memory holds one batch, never the site (and its gzip copies).
* **Atomic per file.** Each file is written under a temporary name and renamed
  over the old one: a reader sees the old bytes or the new, never half a feed.
* **Validators that follow the bytes.** A file's mtime is its document's
  Last-Modified, the time its bytes last changed: nginx derives `ETag` and
  `Last-Modified` from mtime and size. A file whose bytes did not change is not
  rewritten, so its inode, mtime and validators stay as they were.
* **Links before what links to them.** Archive pages and article pages are
  written before the feeds, topic pages and index that point at them.
* **Nothing stale stays.** A document no longer published (a deleted article's
  page, an archive page gone, the `.gz` siblings after `--no-gzip`) is removed
  once the new files are in place. Only files feedsvc wrote are ever removed:
  the directory's manifest (`.feedsvc-export.json`) lists them, so an operator's
  own files beside the export are never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from feedsvc.errors import NothingPublished
from feedsvc.store import Store, StoredDocument

__all__ = ["MANIFEST", "ExportReport", "NothingPublished", "export_generation", "export_site"]

MANIFEST = ".feedsvc-export.json"
EXPORT_BATCH = 64  # documents whose bodies are in memory at once


@dataclass(frozen=True, slots=True)
class ExportReport:
    documents: int  # published documents exported
    written: int  # files (re)written, `.gz` siblings included
    unchanged: int  # files already holding these bytes and this mtime
    removed: int  # files of an earlier export that are no longer published

    def line(self, directory: Path) -> str:
        return (f"exported {self.documents} documents to {directory}: {self.written} files written, "
                f"{self.unchanged} unchanged, {self.removed} removed")


def export_generation(store: Store, directory: Path, *, gzip_siblings: bool = True) -> int:
    """export_site() for callers that want only the number of documents."""
    return export_site(store, directory, gzip_siblings=gzip_siblings).documents


def export_site(store: Store, directory: Path, *, gzip_siblings: bool = True) -> ExportReport:
    """Write every document of the current generation (and `.gz` siblings for nginx
    `gzip_static`) under `directory`, then remove what an earlier export wrote that
    is no longer published."""
    generation = store.current_generation()
    if generation is None:
        raise NothingPublished("nothing has been published yet: run `feedsvc build` first")
    docs = sorted(store.documents(generation), key=_write_order)
    root = directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    before = read_manifest(root)
    now: dict[str, str] = {}
    for doc in docs:
        _inside(root, doc.path)
        now[doc.path] = doc.blob_hash
        if gzip_siblings:
            now[doc.path + ".gz"] = doc.blob_hash
    # Until this export is finished, the manifest lists both exports' files: if it is
    # interrupted, the next one still knows every file that may need removing.
    write_manifest(root, {**before, **now})
    written = unchanged = 0
    for batch in _batches(docs, EXPORT_BATCH):
        for suffix, gzipped in (("", False), (".gz", True)) if gzip_siblings else (("", False),):
            todo = [d for d in batch if not _current(root, d, suffix, before)]
            unchanged += len(batch) - len(todo)
            if not todo:
                continue
            bodies = dict(store.bodies((d.blob_hash for d in todo), gzipped=gzipped))
            for doc in todo:
                _write(root / (doc.path + suffix), bodies[doc.blob_hash], doc.last_modified.timestamp())
                written += 1
    removed = _remove(root, [path for path in before if path not in now])
    write_manifest(root, now)
    return ExportReport(len(docs), written, unchanged, removed)


def _write_order(doc: StoredDocument) -> tuple[int, str]:
    """Pages that other documents link to first: archives and articles, then the rest."""
    leaf = "/archive/" in doc.path or doc.path.startswith("articles/")
    return (0 if leaf else 1, doc.path)


def _batches(items: Sequence[StoredDocument], size: int) -> Iterator[Sequence[StoredDocument]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _inside(root: Path, path: str) -> Path:
    target = (root / path).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"refusing to write or remove outside {root}: {path}")
    return target


def _current(root: Path, doc: StoredDocument, suffix: str, before: dict[str, str]) -> bool:
    """The file already holds this document's bytes: written by an earlier export from
    the same blob, with the mtime it was given then."""
    if before.get(doc.path + suffix) != doc.blob_hash:
        return False
    try:
        stat = (root / (doc.path + suffix)).stat()
    except OSError:
        return False
    return stat.st_mtime == doc.last_modified.timestamp()


def _write(target: Path, data: bytes, mtime: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, target)


def _remove(root: Path, paths: Iterable[str]) -> int:
    """Remove files an earlier export wrote, and the directories that leaves empty."""
    removed = 0
    for path in sorted(paths):
        target = _inside(root, path)
        try:
            target.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        parent = target.parent
        while parent != root:
            try:
                parent.rmdir()  # only if empty: an operator's files keep their directory
            except OSError:
                break
            parent = parent.parent
    return removed


def read_manifest(root: Path) -> dict[str, str]:
    """The files an earlier export wrote (path -> blob hash); empty when there is none."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{root / MANIFEST} is not an export manifest ({exc}); move it away "
                         f"to export into this directory") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise ValueError(f"{root / MANIFEST} is not an export manifest; move it away to export "
                         f"into this directory")
    return {str(k): str(v) for k, v in files.items()}


def write_manifest(root: Path, files: dict[str, str]) -> None:
    tmp = root / f"{MANIFEST}.tmp{os.getpid()}"
    tmp.write_text(json.dumps({"version": 1, "files": dict(sorted(files.items()))}, indent=0),
                   encoding="utf-8")
    os.replace(tmp, root / MANIFEST)
