"""Live link pages at 100k links on PostgreSQL: /api/links and /links latency, and feed p99
while eight clients load link pages.

Usage: python benchmarks/live_pages.py POSTGRES_ADMIN_URL [--files 100000] [--links 100000]

Builds a synthetic corpus of FILES articles (benchmarks/make_corpus.py) into a fresh
database, tops the links table up to LINKS rows with a realistic status mix, then:

* "before": the algorithm the pages used to run (load every link row, sort and
  slice in Python), timed in-process on the same data;
* "after": `feedsvc web --workers 2` over real HTTP: the first answer after a
  check run (SQL paging, cache miss), then cached answers, for /api/links
  pages 1, 2 and a deep one, /api/links?status=broken and /links;
* feed p99 for /feeds/all.atom alone, and while 8 threads fetch random
  /api/links pages (new check runs invalidate the cache every second).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import free_port
from benchmarks.make_corpus import make_corpus
from feedsvc.build import Builder
from feedsvc.models import DEAD, LinkStatus
from feedsvc.settings import load_settings
from feedsvc.store import Store, bump_counter, links
from feedsvc.store.linkstore import LinkStore, links_changed, rank_of

MIX = [(LinkStatus.OK, 0.8), (LinkStatus.REDIRECTED, 0.06), (LinkStatus.BLOCKED, 0.05),
       (LinkStatus.ERROR, 0.04), (LinkStatus.BROKEN, 0.03), (LinkStatus.UNCHECKED, 0.02)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def top_up_links(store: Store, wanted: int) -> int:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM links")).scalar() or 0
        rows = []
        for n in range(have, wanted):
            status = rng.choices([s for s, _ in MIX], [w for _, w in MIX])[0]
            dead = status is LinkStatus.BROKEN and rng.random() < 0.5
            rows.append({"url": f"https://site{n % 5000}.example/story/{n}", "status": status,
                         "code": 200, "final_url": None, "permanent_redirect": False, "error": None,
                         "checked_at": now, "consecutive_failures": 3 if dead else 0,
                         "first_failure_at": None, "next_check_at": now + timedelta(days=rng.random() * 7),
                         "checks": 1, "dead": dead, "active": True, "rank": rank_of(status, dead)})
            if len(rows) == 5000:
                conn.execute(insert(links), rows)
                rows.clear()
        if rows:
            conn.execute(insert(links), rows)
        links_changed(conn)
    return wanted


def old_report(store: Store, statuses: set[str], offset: int, limit: int) -> int:
    """What /api/links did before: every row into Python, sorted, sliced."""
    link_store = LinkStore(store)
    states = [s for s in link_store.states().values()
              if not statuses or s.status in statuses or (DEAD in statuses and s.dead)]
    states.sort(key=lambda s: (not s.dead, -LinkStatus(s.status).order, s.url))
    page = states[offset:offset + limit]
    urls = [s.url for s in page]
    link_store.articles(urls)
    link_store.history(urls)
    link_store.counts()
    return len(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_url")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--reuse", metavar="DATABASE",
                        help="measure a database an earlier run kept (--keep) instead of building")
    parser.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    args = parser.parse_args()
    name = args.reuse or f"feedsvc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(args.admin_url).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="feedsvc-live-"))
    process = None
    try:
        store = Store(url)
        if not args.reuse:
            content = make_corpus(args.files, work / "content")
            settings = load_settings(env={}, content_dir=content, database_url=url,
                                     cache_dir=work / "cache", base_url="http://127.0.0.1")
            store.create()
            started = time.perf_counter()
            report = Builder(settings, store).build()
            print(f"build: {args.files} files, {report.articles} articles in "
                  f"{time.perf_counter() - started:.1f}s")
            shutil.rmtree(content)
            top_up_links(store, args.links)
            # What autovacuum does on a live store: statistics, and the visibility map
            # that lets the per-rank counts be an index-only scan.
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            print(f"database: {name}")
        with store.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(links)).scalar()
        print(f"links: {count}")
        for label, statuses, page in (("page 1", set(), 1), ("broken", {"broken"}, 1),
                                      ("page 500", set(), 500)):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                old_report(store, statuses, (page - 1) * 100, 100)
                times.append(time.perf_counter() - t)
            print(f"before /api/links {label}: median {statistics.median(times) * 1000:.0f} ms "
                  "(old algorithm, in-process)")
        port = free_port()
        env = {**os.environ, "FEEDSVC_DATABASE_URL": url, "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        process = subprocess.Popen([str(Path(sys.executable).parent / "feedsvc"), "web", "--host",
                                    "127.0.0.1", "--port", str(port), "--workers", "2"], env=env,
                                   start_new_session=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "web did not start"
            time.sleep(0.2)
        http = httpx.Client(base_url=base, trust_env=False, timeout=30)
        for path in ("/api/links", "/api/links?page=2", "/api/links?page=500",
                     "/api/links?status=broken", "/links"):
            cold = []
            for _ in range(5):  # a new check run each time: the cache is keyed on it
                with store.engine.begin() as conn:
                    bump_counter(conn, "links_version")
                time.sleep(1.1)  # let both workers' version check (once a second) expire
                t = time.perf_counter()
                assert http.get(path).status_code == 200
                cold.append(time.perf_counter() - t)
            warm = []
            for _ in range(50):
                t = time.perf_counter()
                http.get(path)
                warm.append(time.perf_counter() - t)
            print(f"after {path}: uncached median {statistics.median(cold) * 1000:.1f} ms "
                  f"max {max(cold) * 1000:.1f} ms; cached p50 {pct(warm, 0.5):.1f} ms "
                  f"p99 {pct(warm, 0.99):.1f} ms")

        def feed_latencies(seconds: float) -> list[float]:
            out = []
            end = time.monotonic() + seconds
            with httpx.Client(base_url=base, trust_env=False, timeout=30) as feeds:
                while time.monotonic() < end:
                    t = time.perf_counter()
                    feeds.get("/feeds/all.atom")
                    out.append(time.perf_counter() - t)
            return out

        alone = feed_latencies(10)
        print(f"feed /feeds/all.atom alone: p50 {pct(alone, 0.5):.1f} ms p99 {pct(alone, 0.99):.1f} ms "
              f"({len(alone)} requests)")
        for pages, label, invalidate_every in (
                (1, "one check run during the load", 3600.0),
                (1, "a new check run every second", 1.0),
                (1000, "one check run during the load", 3600.0),
                (1000, "a new check run every second", 1.0)):
            loaded = feed_under_load(store, base, feed_latencies, invalidate_every, pages)
            what = "/api/links" if pages == 1 else f"random /api/links pages 1-{pages}"
            print(f"feed under 8 clients on {what}, {label}: "
                  f"p50 {pct(loaded, 0.5):.1f} ms p99 {pct(loaded, 0.99):.1f} ms "
                  f"({len(loaded)} requests)")
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def feed_under_load(store: Store, base: str, feed_latencies: Callable[[float], list[float]],
                    invalidate_every: float, pages: int) -> list[float]:
    stop = threading.Event()
    with store.engine.begin() as conn:  # a check run just ended: nothing cached
        bump_counter(conn, "links_version")

    def invalidate() -> None:
        while not stop.wait(invalidate_every):
            with store.engine.begin() as conn:
                bump_counter(conn, "links_version")

    # The 8 clients run in two other processes, so that their work never delays the
    # measuring thread of this one (a GIL shared with them would be measured too).
    context = multiprocessing.get_context("spawn")
    halt = context.Event()
    loaders = [context.Process(target=load_clients, args=(base, pages, n, halt)) for n in range(2)]
    for loader in loaders:
        loader.start()
    invalidator = threading.Thread(target=invalidate)
    invalidator.start()
    time.sleep(2.0)  # the load is on
    loaded = feed_latencies(15)
    stop.set()
    halt.set()
    invalidator.join()
    for loader in loaders:
        loader.join(30)
    return loaded


def load_clients(base: str, pages: int, seed: int, halt: Any) -> None:
    """Four clients (threads) fetching /api/links pages until `halt` is set."""

    def client_loop(n: int) -> None:
        rng = random.Random(seed * 10 + n)
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
            while not halt.is_set():
                client.get(f"/api/links?page={rng.randint(1, pages)}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
