"""N link-checker processes sharing one PostgreSQL store: the clocks' way of checking.

Used by `benchmarks/peers.py links --checkers N --postgres URL`, or alone:

  python benchmarks/shared_links.py --postgres postgresql://USER@HOST:PORT/postgres \\
      [--checkers 2] [--urls 100000] [--hosts 1000] [--latency 0.1] [--per-host 2] \\
      [--concurrency 400] [--gap 0]

A fresh database is made on that server (and dropped afterwards) and given
`--urls` due links over `--hosts` loopback addresses (127.0.1.1 ..., see
benchmarks/linkcheck.py's host_address), answering after `--latency` seconds
(the server of benchmarks/linkcheck.py). Then `--checkers` processes start
together, each a shared run (feedsvc.links.shared) with `--concurrency` checks
in flight, and split the URLs through the store's host claims. They run under
one launcher process measured as a tree (benchmarks/proctree.py). Prints, per
process: URLs checked, time, CPU per URL (checking and recording the results
in the store), peak RSS; for all of them: the checking time (first start to
last end) against the ideal bound (URLs x latency / min(processes x
concurrency, hosts x per-host); with a `--gap` between two requests to a host,
at least the busiest host's (its URLs - 1) x gap + latency), and the whole tree's wall time, CPU per URL
and peak summed RSS (interpreter start and imports included); and whether
every URL was checked exactly once. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from common import free_port  # noqa: E402
from linkcheck import host_address  # noqa: E402
from proctree import run_tree  # noqa: E402

PY = sys.executable
BENCH_RANGE = "127.0.0.0/16"  # the benchmark hosts' addresses (linkcheck.host_address)


def child(spec: dict) -> None:
    """One checker process: a shared run over the store; prints its own figures as JSON."""
    from feedsvc.links.shared import Share, run_shared_check
    from feedsvc.settings import load_settings
    from feedsvc.store import Store

    settings = load_settings(env={}, database_url=spec["url"], base_url="https://bench.test",
                             linkcheck_allow=(BENCH_RANGE,), linkcheck_host_gap=spec["gap"],
                             linkcheck_concurrency=spec["concurrency"],
                             linkcheck_per_host=spec["per_host"], linkcheck_timeout=10.0,
                             linkcheck_deadline=60.0, linkcheck_run_budget=3600.0)
    # Opened before the clock starts, as a clock process has its store open long before it
    # checks: the engine's first use imports the database driver (0.2-0.3 s), which is
    # start-up, like the imports above, not checking.
    store = Store(spec["url"])
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.time()
    started = time.perf_counter()
    report = run_shared_check(settings, store, Share(f"bench-{uuid.uuid4().hex[:8]}"),
                              snapshot=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"elapsed": elapsed, "began": began, "ended": time.time(),
                      "checked": report.checked, "deferred": report.deferred,
                      "counts": dict(report.by_status),
                      "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
                      "peak_rss_mb": after.ru_maxrss / 1024}))


def group(count: int, spec: dict) -> None:
    """Start `count` checker processes at once and wait for them: run as one process tree
    (benchmarks/proctree.py), so that its wall time, CPU and peak memory are the checkers'
    together, interpreter start and imports included. Prints their JSON lines as a list."""
    children = [subprocess.Popen([PY, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for process in children:
        out, err = process.communicate()
        if process.returncode != 0:
            results.append({"error": err.strip()[-800:]})
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(results))


def make_database(admin: str) -> str:
    """A new database on the server of `admin` (a URL to a database we may create in)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"feedsvc_bench_links_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def fill(url: str, urls: list[str]) -> None:
    """Due, never-checked links, written straight into the store's table (as a build would
    register them, without the articles)."""
    from feedsvc.links.hosts import host_of
    from feedsvc.models import LinkStatus
    from feedsvc.store import Store, in_batches, links
    from feedsvc.store.linkstore import links_changed, rank_of

    store = Store(url)
    store.create()
    now = datetime.now(UTC)
    rows = [{"url": u, "status": LinkStatus.UNCHECKED, "code": None, "final_url": None,
             "permanent_redirect": False, "error": None, "checked_at": None,
             "consecutive_failures": 0, "first_failure_at": None, "next_check_at": now,
             "checks": 0, "dead": False, "active": True, "host": host_of(u),
             "rank": rank_of(LinkStatus.UNCHECKED, False)} for u in urls]
    with store.engine.begin() as conn:
        for batch in in_batches(rows, 5000):
            conn.execute(links.insert(), batch)
        links_changed(conn)
    store.close()


def checked_once(url: str, count: int) -> str:
    from sqlalchemy import func, select

    from feedsvc.store import Store, link_checks

    store = Store(url)
    with store.engine.connect() as conn:
        per_url = conn.execute(select(link_checks.c.url, func.count()).group_by(link_checks.c.url)).all()
    store.close()
    twice = sum(1 for _, n in per_url if n > 1)
    return f"{len(per_url):,} of {count:,} URLs checked, {twice} more than once"


def run(args: argparse.Namespace, port: int | None = None) -> tuple[float, float] | None:
    """`port`: a server of linkcheck.serve already answering for `args.hosts` addresses.
    Returns the checking's ratio of the bound and its CPU ms/URL (None if a checker failed)."""
    from linkcheck import serve

    server = None
    if port is None:
        port = free_port("127.0.1.1")
        ready = multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(args.hosts, port, args.latency, ready),
                                         daemon=True)
        server.start()
        ready.wait(60)
    urls = [f"http://{host_address(n % args.hosts)}:{port}/article/{n}" for n in range(args.urls)]
    url = make_database(args.postgres)
    try:
        fill(url, urls)
        gap = args.gap
        spec = {"url": url, "concurrency": args.concurrency, "per_host": args.per_host, "gap": gap}
        effective = min(args.checkers * args.concurrency, args.hosts * args.per_host)
        busiest = -(-args.urls // args.hosts)  # URLs of the host with the most
        bound = max(args.urls * args.latency / effective, (busiest - 1) * gap + args.latency)
        print(f"  shared store: {args.checkers} checker processes x concurrency {args.concurrency}, "
              f"{args.urls:,} URLs over {args.hosts:,} hosts, per-host {args.per_host}, "
              f"{args.latency * 1000:.0f} ms latency, {gap:g} s between two requests to a host; "
              f"ideal bound {bound:.2f} s", flush=True)
        tree = run_tree([PY, __file__, "--group", str(args.checkers), json.dumps(spec)])
        results = json.loads(tree.stdout.strip().splitlines()[-1]) if tree.returncode == 0 else []
        return report(args, bound, tree, results, url)
    finally:
        drop_database(args.postgres, url)
        if server is not None:
            server.terminate()


def report(args: argparse.Namespace, bound: float, tree, results: list[dict], url: str
           ) -> tuple[float, float] | None:
    """Each checker's figures, then all of them as one process tree."""
    ok = [r for r in results if "error" not in r]
    for n, result in enumerate(results, 1):
        if "error" in result:
            print(f"  checker {n} failed: {result['error']}")
            continue
        print(f"  checker {n}: {result['checked']:,} checked, {result['deferred']} deferred in "
              f"{result['elapsed']:.2f} s; CPU {result['cpu'] * 1000 / max(result['checked'], 1):.3f} "
              f"ms/URL (checking and recording); peak RSS {result['peak_rss_mb']:.0f} MB; "
              f"{result['counts']}")
    if not ok or len(ok) < len(results):
        print(f"  checkers failed: {tree.stderr.strip()[-800:]}")
        return None
    span = max(r["ended"] for r in ok) - min(r["began"] for r in ok)
    print(f"  all: checking {span:.2f} s (first start to last end), ratio {bound / span:.2f} "
          f"(goal >= 0.8 at 400 with two); CPU {sum(r['cpu'] for r in ok) * 1000 / args.urls:.3f} "
          f"ms/URL checking and recording; {checked_once(url, args.urls)}")
    print(f"  process tree: wall {tree.wall_s:.2f} s (ratio {bound / tree.wall_s:.2f}), CPU "
          f"{tree.cpu_s * 1000 / args.urls:.3f} ms/URL, peak RSS {tree.peak_rss_mb:.0f} MB summed "
          f"(PSS {tree.peak_pss_mb:.0f} MB; interpreter start, imports and a small launcher "
          f"process included)", flush=True)
    return bound / span, sum(r["cpu"] for r in ok) * 1000 / args.urls


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--group":
        group(int(sys.argv[2]), json.loads(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a database URL we may CREATE DATABASE from")
    parser.add_argument("--checkers", type=int, default=2)
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=400)
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds between two requests to a host (the service's default: 1)")
    from proctree import become_subreaper

    become_subreaper()
    run(parser.parse_args())


if __name__ == "__main__":
    main()
