"""The store against real SQLite: atomic generations, blobs, validators."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime

from feedsvc.models import Document
from feedsvc.store import Store, body_hash

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def doc(path: str, body: bytes | None) -> Document:
    return Document(path, "application/atom+xml", WHEN, f"key-{body!r}", body)


def test_publish_reuses_bodies_and_counts_changes(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.create()
    g1, changed, unchanged = store.publish([doc("a", b"A"), doc("b", b"B")], "f1", {}, created_at=WHEN)
    assert (changed, unchanged) == (["a", "b"], 0)
    g2, changed, unchanged = store.publish([doc("a", None), doc("b", b"B2")], "f2", {}, created_at=WHEN)
    assert (g2, changed, unchanged) == (g1 + 1, ["b"], 1)
    current = {d.path: d for d in store.documents(g2)}
    assert store.body(current["a"].blob_hash) == b"A"
    assert current["b"].etag == body_hash(b"B2")[:32]
    assert gzip.decompress(store.body(current["b"].blob_hash, gzipped=True)) == b"B2"


def test_readers_see_one_whole_generation_while_publishing(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.create()
    paths = [f"p{i}" for i in range(50)]
    store.publish([doc(p, b"gen0") for p in paths], "f", {}, created_at=WHEN)
    stop = threading.Event()
    torn: list[set] = []

    def reader():
        while not stop.is_set():
            generation = store.current_generation()
            docs = store.documents(generation)
            bodies = {b for _, b in store.bodies(d.blob_hash for d in docs)}
            if len(bodies) != 1 or len(docs) != len(paths):
                torn.append(bodies)

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(1, 15):
        store.publish([doc(p, f"gen{n}".encode()) for p in paths], f"f{n}", {}, created_at=WHEN)
    stop.set()
    thread.join()
    assert torn == []


def test_identical_gzip_for_identical_bodies(tmp_path):
    """gzip writes the time into its header unless told not to: two compressions in
    different seconds must still give the same bytes (or ETags differ between builds)."""
    import gzip

    from feedsvc.store import compress

    packed = compress(b"x" * 1000)
    assert packed[4:8] == b"\0\0\0\0"  # MTIME field: none recorded
    assert gzip.compress(b"x" * 1000, mtime=1)[4:8] != b"\0\0\0\0"  # the field can differ
    assert compress(b"x" * 1000) == packed and gzip.decompress(packed) == b"x" * 1000


def test_an_unreachable_store_is_the_products_error_not_sqlalchemys(tmp_path):
    """The shells handle StoreUnavailable; no SQLAlchemy exception escapes the store."""
    import pytest

    from feedsvc.errors import FeedsvcError, StoreUnavailable
    from feedsvc.store import Store

    missing = Store(f"sqlite:///{tmp_path}/no/such/dir/store.sqlite3")
    with pytest.raises(StoreUnavailable, match="the store is unavailable: unable to open") as caught:
        missing.current_generation()
    assert isinstance(caught.value, FeedsvcError)
    refused = Store("postgresql://nobody@127.0.0.1:1/none", timeout=2)  # a closed loopback port
    with pytest.raises(StoreUnavailable, match=r"Connection refused|connection failed"):
        refused.current_generation()


def test_archive_pages_are_kept_as_gzip_only_and_read_back_whole(tmp_path):
    import sqlite3

    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.create()
    page = b"<feed>" + b"<entry>an archived entry</entry>" * 500 + b"</feed>"
    archive = Document("feeds/all/archive/1.atom", "application/atom+xml", WHEN, "k1", page, hot=False)
    feed = Document("feeds/all.atom", "application/atom+xml", WHEN, "k2", b"<feed/>")
    generation, _, _ = store.publish([archive, feed], "f1", {}, created_at=WHEN)
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = dict(db.execute("SELECT hash, body IS NULL FROM blobs"))
    assert stored == {body_hash(page): 1, body_hash(b"<feed/>"): 0}
    current = {d.path: d for d in store.documents(generation)}
    assert store.body(current["feeds/all/archive/1.atom"].blob_hash) == page
    assert gzip.decompress(store.body(current["feeds/all/archive/1.atom"].blob_hash,
                                      gzipped=True)) == page
    assert dict(store.bodies([current["feeds/all.atom"].blob_hash])) == \
        {body_hash(b"<feed/>"): b"<feed/>"}
