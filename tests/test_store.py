"""The store against real SQLite: atomic generations, blobs, validators."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime

import pytest

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


@pytest.mark.parametrize("hot", [True, False], ids=["hot", "archive"])
def test_identical_gzip_for_identical_bodies(hot):
    """gzip writes the time into its header unless told not to: two compressions in
    different seconds must still give the same bytes (or ETags differ between builds).
    Both compressors (zlib-ng for hot documents, ISA-L for archives) write gzip that
    Python's own reader reads."""
    from feedsvc.store import compress

    body = b"".join(b"<item><title>%d</title></item>" % n for n in range(2000))
    packed = compress(body, hot)
    assert packed[:2] == b"\x1f\x8b" and packed[4:8] == b"\0\0\0\0"  # MTIME field: none recorded
    assert gzip.compress(body, mtime=1)[4:8] != b"\0\0\0\0"  # the field can differ
    assert compress(body, hot) == packed and gzip.decompress(packed) == body
    assert len(packed) < len(body) / 5


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


def test_bodies_are_kept_as_gzip_only_and_read_back_whole(tmp_path):
    import sqlite3

    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.create()
    page = b"<feed>" + b"<entry>an archived entry</entry>" * 500 + b"</feed>"
    archive = Document("feeds/all/archive/1.atom", "application/atom+xml", WHEN, "k1", page, hot=False)
    feed = Document("feeds/all.atom", "application/atom+xml", WHEN, "k2", b"<feed/>")
    generation, _, _ = store.publish([archive, feed], "f1", {}, created_at=WHEN)
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = dict(db.execute("SELECT hash, body IS NULL FROM blobs"))
    assert stored == {body_hash(page): 1, body_hash(b"<feed/>"): 1}
    with sqlite3.connect(tmp_path / "s.db") as db:  # any gzip reader reads what is kept
        packed = dict(db.execute("SELECT hash, gzip FROM blobs"))
    assert gzip.decompress(packed[body_hash(page)]) == page
    assert len(packed[body_hash(page)]) < len(page) / 10
    assert gzip.decompress(packed[body_hash(b"<feed/>")]) == b"<feed/>"
    current = {d.path: d for d in store.documents(generation)}
    assert store.body(current["feeds/all/archive/1.atom"].blob_hash) == page
    assert gzip.decompress(store.body(current["feeds/all/archive/1.atom"].blob_hash,
                                      gzipped=True)) == page
    assert dict(store.bodies([current["feeds/all.atom"].blob_hash])) == \
        {body_hash(b"<feed/>"): b"<feed/>"}


# --- leases, epochs and fencing (SQLite and PostgreSQL) ------------------

def fresh_store(database_url: str) -> Store:
    store = Store(database_url)
    store.create()
    return store


def test_every_acquisition_bumps_the_epoch_and_renewals_keep_it(database_url):
    from datetime import timedelta

    store = fresh_store(database_url)
    t0 = datetime.now(UTC)
    assert store.lease_epoch("clock") == 0
    assert store.claim_lease("clock", "a", 10, t0) == 1
    assert store.claim_lease("clock", "a", 10, t0 + timedelta(seconds=5)) == 1, "a renewal"
    assert store.claim_lease("clock", "b", 10, t0 + timedelta(seconds=5)) is None, "held by a"
    # a's lease (renewed at t0+5) expires at t0+15: b takes it, under a new epoch
    assert store.claim_lease("clock", "b", 10, t0 + timedelta(seconds=16)) == 2
    assert store.claim_lease("clock", "a", 10, t0 + timedelta(seconds=17)) is None
    store.release_lease("clock", "b")
    assert store.lease("clock") is None, "a released lease has no holder"
    assert store.claim_lease("clock", "a", 10, t0 + timedelta(seconds=18)) == 3
    # a's own lease expired and a takes it again: a new acquisition, a new epoch, so a
    # job a started under epoch 3 is fenced out although a holds the lease again
    assert store.claim_lease("clock", "a", 10, t0 + timedelta(seconds=40)) == 4
    assert store.lease_epoch("clock") == 4


def test_a_stale_fence_writes_nothing(database_url):
    import pytest
    from sqlalchemy import func, select

    from feedsvc.errors import LeaseLost
    from feedsvc.store import Fence, blobs, generations

    store = fresh_store(database_url)
    now = datetime.now(UTC)
    epoch = store.claim_lease("clock", "a", 30, now)
    fence = Fence("clock", "a", epoch)
    g1, _, _ = store.publish([doc("x", b"one")], "f1", {}, created_at=WHEN, fence=fence)
    assert store.publishers()[-1][2:] == ("a", epoch)

    def count(table) -> int:
        with store.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar()

    store.claim_lease("clock", "b", 30, now + timedelta_s(60))  # a's lease expired; b took it
    before = (count(blobs), count(generations))
    with pytest.raises(LeaseLost, match="no longer held"):
        store.publish([doc("x", b"stale")], "f2", {}, created_at=WHEN, fence=fence)
    assert store.current_generation() == g1
    assert (count(blobs), count(generations)) == before, "not even a blob was written"
    with pytest.raises(LeaseLost):
        store.record_report({"status": "published"}, fence=fence)
    assert store.last_report() is None


def timedelta_s(seconds: float):
    from datetime import timedelta
    return timedelta(seconds=seconds)


def test_a_lease_lost_in_the_middle_of_a_publish_rolls_it_all_back(database_url):
    import pytest

    from feedsvc.errors import LeaseLost
    from feedsvc.store import Fence

    store = fresh_store(database_url)
    now = datetime.now(UTC)
    fence = Fence("clock", "a", store.claim_lease("clock", "a", 30, now))
    g1, _, _ = store.publish([doc(f"p{i}", b"old") for i in range(10)], "f1", {}, created_at=WHEN,
                             fence=fence)

    def docs():
        for i in range(300):  # three batches of blobs: the takeover lands after the first
            if i == 150:
                assert store.claim_lease("clock", "b", 30, now + timedelta_s(60)) == 2
            yield doc(f"p{i}", f"new {i}".encode())

    with pytest.raises(LeaseLost):
        store.publish(docs(), "f2", {}, created_at=WHEN, fence=fence)
    assert store.current_generation() == g1
    # Blobs are written in a thread of their own: a failed write still stops the
    # rendering within a few batches, not at the end of the site.
    consumed = []

    def many_docs():
        for i in range(3000):
            consumed.append(i)
            yield doc(f"q{i}", f"newer {i}".encode())

    with pytest.raises(LeaseLost):
        store.publish(many_docs(), "f2", {}, created_at=WHEN, fence=fence)
    assert len(consumed) < 1000
    assert [g for g, *_ in store.publishers()] == [g1]
    b_fence = Fence("clock", "b", 2)
    g2, changed, _ = store.publish([doc("p0", b"from b")], "f3", {}, created_at=WHEN, fence=b_fence)
    assert g2 > g1 and changed == ["p0"] and store.publishers()[-1][2:] == ("b", 2)


def test_a_publish_that_lost_the_race_for_the_pointer_publishes_nothing(database_url):
    import pytest

    from feedsvc.errors import PublishConflict

    store = fresh_store(database_url)
    g1, _, _ = store.publish([doc("a", b"A")], "f1", {}, created_at=WHEN)

    def docs():
        yield doc("a", b"slow")
        store.publish([doc("a", b"fast")], "f2", {}, created_at=WHEN)  # another build, first

    with pytest.raises(PublishConflict):
        store.publish(docs(), "f3", {}, created_at=WHEN)
    current = store.current_generation()
    assert current == g1 + 1
    assert store.read("a")[1] == b"fast"


def test_generation_settings_are_recorded(database_url):
    store = fresh_store(database_url)
    assert store.generation_settings() is None
    store.publish([doc("a", b"A")], "f1", {}, created_at=WHEN)
    assert store.generation_settings() is None, "an unrecorded generation says so"
    store.publish([doc("a", b"B")], "f2", {}, created_at=WHEN,
                  settings={"feed_size": 50, "dead_link_policy": "archive"},
                  settings_fingerprint="fp")
    assert store.generation_settings() == ("fp", {"feed_size": 50, "dead_link_policy": "archive"})


def test_unused_blobs_are_swept_only_when_old(database_url):
    from datetime import timedelta

    from sqlalchemy import insert, select

    from feedsvc.store import KEEP_GENERATIONS, KEEP_SECONDS, blobs

    store = fresh_store(database_url)
    old = datetime.now(UTC) - timedelta(seconds=2 * KEEP_SECONDS)
    with store.engine.begin() as conn:  # what a fenced-out build left behind, long ago and now
        conn.execute(insert(blobs), [
            {"hash": "orphan-old", "body": b"o", "gzip": b"o", "written_at": old},
            {"hash": "orphan-young", "body": b"y", "gzip": b"y", "written_at": datetime.now(UTC)}])
    for n in range(KEEP_GENERATIONS + 2):
        store.publish([doc("a", f"gen {n}".encode())], f"f{n}", {},
                      created_at=old if n < 2 else datetime.now(UTC))
    with store.engine.connect() as conn:
        kept = set(conn.execute(select(blobs.c.hash)).scalars())
    assert "orphan-young" in kept and "orphan-old" not in kept


# --- leases on PostgreSQL: a frozen or vanished holder never blocks a takeover ------------
# A "frozen leader" here is a session labelled as the holder's (as a clock labels its own)
# left inside a transaction, as a process stopped between two messages of a statement
# leaves it: the server waits on its client, and no server timeout ends it.


def _frozen_session(url: str, holder: str):
    """A connection of `holder`'s, as its clock would open it; returns (store, connection)."""
    store = Store(url)
    store.label_sessions(holder)
    return store, store.engine.connect()


def _session_alive(store: Store, connection) -> bool:
    from sqlalchemy import text

    pid = connection.connection.dbapi_connection.info.backend_pid
    with store.engine.connect() as probe:
        return probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                             {"pid": pid}).scalar() == 1


def _session_ended(store: Store, connection, ceiling: float = 30.0) -> bool:
    """Whether the session goes: pg_terminate_backend only signals the backend, which
    leaves pg_stat_activity when it has exited (a moment later on a busy machine)."""
    deadline = time.monotonic() + ceiling
    while _session_alive(store, connection):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # the polling step; the ceiling bounds the wait
    return True


def test_a_claim_blocked_by_an_expired_holders_open_transaction_ends_it(postgres_url):
    from sqlalchemy import update

    from feedsvc.store import leases

    store = fresh_store(postgres_url)
    now = datetime.now(UTC)
    assert store.claim_lease("clock", "A", 6, now - timedelta_s(60)) == 1  # long expired
    frozen_store, frozen = _frozen_session(postgres_url, "A")
    frozen.begin()
    frozen.execute(update(leases).where(leases.c.name == "clock").values(epoch=leases.c.epoch))
    assert _session_alive(store, frozen)  # A holds the lease row's lock, and stops talking

    assert store.claim_lease("clock", "B", 6, now) == 2
    assert _session_ended(store, frozen), "the expired holder's transaction was ended"
    assert store.lease("clock")[0] == "B"
    frozen.invalidate()  # the server ended it: nothing to roll back
    frozen_store.close()


def test_a_claim_never_ends_the_sessions_of_a_holder_whose_lease_runs(postgres_url):
    import pytest
    from sqlalchemy import update

    from feedsvc.errors import StoreUnavailable
    from feedsvc.store import leases, lock_timeout_for

    store = fresh_store(postgres_url)
    now = datetime.now(UTC)
    assert store.claim_lease("clock", "A", 60, now) == 1
    busy_store, busy = _frozen_session(postgres_url, "A")
    busy.begin()
    busy.execute(update(leases).where(leases.c.name == "clock").values(epoch=leases.c.epoch))
    started = time.monotonic()
    assert store.claim_lease("clock", "B", 6, now) is None  # held by A: an answer
    waited = time.monotonic() - started
    assert waited < 10 * lock_timeout_for(6), f"the claim waited {waited:.1f} s for the row"
    # A's own renewal, behind its own open transaction, cannot tell: it says so, so that
    # the clock keeps a lease that has not run out instead of standing down.
    with pytest.raises(StoreUnavailable, match="stayed locked"):
        store.claim_lease("clock", "A", 60, now)
    assert _session_alive(store, busy)
    busy.rollback()
    busy.close()
    busy_store.close()
    assert store.lease("clock")[0] == "A"


def test_a_takeover_ends_the_old_leaders_half_written_publish(postgres_url):
    """A leader frozen inside a batch of blobs holds no lease lock, but its uncommitted
    rows would make the new leader's first publish (the same bodies) wait for it."""
    from sqlalchemy import insert

    from feedsvc.store import blobs

    store = fresh_store(postgres_url)
    now = datetime.now(UTC)
    assert store.claim_lease("clock", "A", 6, now - timedelta_s(60)) == 1
    frozen_store, frozen = _frozen_session(postgres_url, "A")
    frozen.begin()
    frozen.execute(insert(blobs).values(hash=body_hash(b"same body"), body=b"same body",
                                        gzip=gzip.compress(b"same body"), written_at=now))
    assert store.claim_lease("clock", "B", 6, now) == 2  # not blocked: no lease lock held
    assert _session_ended(store, frozen)
    from feedsvc.store import Fence

    generation, changed, _ = store.publish([doc("a", b"same body")], "f", {}, created_at=WHEN,
                                           fence=Fence("clock", "B", 2))
    assert changed == ["a"] and store.current_generation() == generation
    frozen.invalidate()
    frozen_store.close()


def test_a_claim_that_waited_for_the_row_counts_its_lease_from_when_it_got_it(postgres_url,
                                                                             monkeypatch):
    """The claim waits for the row until the test has seen it wait and let the row go:
    the product's own wait (at most 5 s) raced a loaded test machine, which once did
    not get to look within those 5 s. Here the claim may wait up to a minute."""
    from importlib import import_module

    from sqlalchemy import text, update

    from feedsvc.store import leases  # the table; the module of that name is the lease area

    monkeypatch.setattr(import_module("feedsvc.store.leases"), "lock_timeout_for", lambda ttl: 60.0)
    store = fresh_store(postgres_url)
    now = datetime.now(UTC)
    assert store.claim_lease("clock", "A", 30, now - timedelta_s(60)) == 1
    locker_store = Store(postgres_url)
    locker = locker_store.engine.connect()
    locker.begin()
    locker.execute(update(leases).where(leases.c.name == "clock").values(epoch=leases.c.epoch))
    result: list[int | None] = []
    asked = time.monotonic()
    claimer = threading.Thread(target=lambda: result.append(store.claim_lease("clock", "B", 30, now)))
    claimer.start()
    with store.engine.connect() as probe:
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' " \
                  "AND datname = current_database()"
        deadline = time.monotonic() + 30
        while not probe.execute(text(waiting)).scalar():
            assert time.monotonic() < deadline, "the claim never waited for the row"
            time.sleep(0.01)
    released = time.monotonic()
    locker.rollback()
    claimer.join(30)
    assert result == [2]
    holder, expires = store.lease("clock")
    assert holder == "B"
    # The lease runs 30 s from when the claim got the row, not from `now`, when it asked.
    assert expires >= now + timedelta_s(30 + (released - asked) - 0.05), (expires, now)
    locker.close()
    locker_store.close()


def test_a_session_the_server_ended_is_replaced_without_an_error(postgres_url):
    """pg_terminate_backend (or a database restart) kills every pooled connection; the
    next query must not fail: the pre-ping notices and the pool opens a new one."""
    from sqlalchemy import text

    store = fresh_store(postgres_url)
    store.publish([doc("a", b"A")], "f", {}, created_at=WHEN)
    assert store.current_generation() is not None
    admin = Store(postgres_url)
    with admin.engine.connect() as conn:
        ended = conn.execute(text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert ended >= 1
    for _ in range(3):
        assert store.current_generation() is not None
        assert store.claim_lease("clock", "A", 6, datetime.now(UTC)) == 1
    admin.close()


def test_a_lease_claim_whose_session_the_server_ends_after_the_pools_check_is_made_again(postgres_url):
    """The pre-ping cannot see a session ended between it and the claim's first statement
    (a restart or pg_terminate_backend at that moment): the claim is made again on a new
    connection instead of reaching the clock as a lease error."""
    from sqlalchemy import event, text

    store = fresh_store(postgres_url)
    admin = Store(postgres_url)
    ended: list[int] = []

    def end_this_session_once(connection) -> None:
        if ended:
            return
        pid = connection.connection.dbapi_connection.info.backend_pid
        with admin.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        ended.append(pid)
        assert _session_ended(store, connection)

    event.listen(store.engine, "engine_connect", end_this_session_once)
    try:
        assert store.claim_lease("clock", "A", 6, datetime.now(UTC)) == 1
    finally:
        event.remove(store.engine, "engine_connect", end_this_session_once)
    assert ended, "the session was ended under the claim"
    assert store.claim_lease("clock", "A", 6, datetime.now(UTC)) == 1  # renewed, same epoch
    admin.close()


def test_insert_many_stores_what_sqlalchemy_would(database_url, monkeypatch):
    """The driver's executemany with each value converted by its column type stores what
    SQLAlchemy's own executemany stores: aware datetimes, booleans, NULLs and text, read
    back alike on both databases; a row already there is left as it is (first wins).
    Rows may come from a generator, read a chunk at a time (here 2, so 5 rows make
    three chunks, the last one short)."""
    from datetime import timedelta

    from sqlalchemy import delete, select

    from feedsvc.store import insert_ignoring_duplicates, insert_many, links, upsert

    monkeypatch.setattr(upsert, "INSERT_CHUNK", 2)

    store = Store(database_url)
    store.create()
    later = WHEN + timedelta(hours=5, microseconds=7)
    rows = [{"url": f"https://example.org/{n}", "status": "unchecked", "code": None if n % 2 else 404,
             "final_url": None, "permanent_redirect": bool(n % 3), "error": "é <&> ü" if n else None,
             "checked_at": later if n % 2 else None, "consecutive_failures": n,
             "first_failure_at": None, "next_check_at": WHEN + timedelta(minutes=n),
             "checks": 0, "dead": n == 2, "active": True, "host": "example.org", "rank": 3 * n}
            for n in range(5)]
    read = select(links).order_by(links.c.url)
    with store.engine.begin() as conn:
        conn.execute(insert_ignoring_duplicates(conn.dialect.name, links), rows)
        by_sqlalchemy = conn.execute(read).all()
        conn.execute(delete(links))
        given = insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, links),
                            (row for row in rows))
        insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, links),
                    [{**rows[0], "status": "ok", "code": 200}])
        assert given == 5
        assert insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, links), iter([])) == 0
        assert conn.execute(read).all() == by_sqlalchemy
        with pytest.raises(ValueError, match="every column"):
            insert_many(conn, insert_ignoring_duplicates(conn.dialect.name, links),
                        [{"url": "https://example.org/x"}])
    assert len(by_sqlalchemy) == 5 and by_sqlalchemy[1].code is None
    store.close()
