"""Soak: sustained polling while the clock rebuilds changing content.

Usage: python benchmarks/soak.py [--seconds 120] [--connections 100] [--rebuild 10]

Builds a synthetic corpus into a temporary store, starts `feedsvc web`
(granian, 2 workers) and `feedsvc clock` (rebuild every --rebuild seconds)
against it, edits articles while it runs, and drives every feed with wrk:
half the connections plain, half revalidating with the ETag they last got.
A verifier fetches feeds throughout and checks every body against its ETag.
Prints requests, non-2xx/304 responses, body/ETag mismatches, p99 latency and
the web workers' RSS at start and end. Loopback only; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def tree(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    children = [int(x) for x in out.split()]
    return children + [g for c in children for g in tree(c)]


def wrk(port: int, paths_file: Path, seconds: int, connections: int, validate: bool) -> subprocess.Popen:
    env = {**os.environ, "SOAK_PATHS": str(paths_file), "VALIDATE": "1" if validate else "0"}
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                             "-s", str(HERE / "soak.lua"), f"http://127.0.0.1:{port}"],
                            env=env, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--rebuild", type=int, default=10)
    parser.add_argument("--articles", type=int, default=3000)
    args = parser.parse_args()
    from common import free_port, parse_wrk, rss_kb
    from make_corpus import make_corpus

    from feedsvc.store import Store

    work = Path(tempfile.mkdtemp(prefix="feedsvc-soak-"))
    content = make_corpus(args.articles, work / "content", 15)
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(content), "FEEDSVC_DATABASE_URL": f"sqlite:///{work}/store.db",
           "FEEDSVC_CACHE_DIR": str(work / "cache"), "FEEDSVC_BUILD_INTERVAL": str(args.rebuild),
           "FEEDSVC_LOG_FORMAT": "keyvalue"}
    subprocess.run([sys.executable, "-m", "feedsvc.cli", "build"], env=env, check=True, capture_output=True)
    store = Store(env["FEEDSVC_DATABASE_URL"])
    feeds = sorted("/" + d.path for d in store.documents(store.current_generation())
                   if d.path.startswith("feeds/") and d.path.count("/") == 1)
    (work / "paths.txt").write_text("\n".join(feeds) + "\n")
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", "web", "--host", "127.0.0.1", "--port",
                            str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    clock_log = open(work / "clock.log", "w")  # noqa: SIM115
    clock = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", "clock", "--no-links"], env=env,
                             stdout=clock_log, stderr=subprocess.STDOUT, start_new_session=True)
    stop = threading.Event()
    stats = {"verified": 0, "mismatches": 0, "edits": 0, "errors": 0}

    def edit_content() -> None:
        files = sorted(content.glob("*.md"))
        rng = random.Random(1)
        while not stop.wait(args.rebuild / 2):
            for path in rng.sample(files, 5):
                text = path.read_text()
                edited = re.sub(r'title: "([^"]*)"', lambda m: f'title: "{m.group(1)} +"', text, count=1)
                path.write_text(edited)
            stats["edits"] += 5

    def verify() -> None:
        rng = random.Random(2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.get(rng.choice(feeds), headers={"Accept-Encoding": "identity"})
                except httpx.HTTPError:
                    stats["errors"] += 1
                    continue
                if response.status_code != 200:
                    stats["errors"] += 1
                    continue
                stats["verified"] += 1
                if hashlib.sha256(response.content).hexdigest()[:32] != response.headers["etag"].strip('"'):
                    stats["mismatches"] += 1

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for _ in range(4):  # warm both encodings in every worker before measuring RSS
            for feed in feeds:
                for encoding in ("gzip", "identity"):
                    httpx.get(f"http://127.0.0.1:{port}{feed}", headers={"Accept-Encoding": encoding})
        workers = tree(web.pid)
        start_rss = sum(rss_kb(p) for p in workers)
        threads = [threading.Thread(target=edit_content), threading.Thread(target=verify)]
        for thread in threads:
            thread.start()
        series: list[int] = []

        def sample_rss() -> None:
            while not stop.wait(10):
                series.append(sum(rss_kb(p) for p in tree(web.pid)) // 1024)

        sampler = threading.Thread(target=sample_rss)
        sampler.start()
        threads.append(sampler)
        half = args.connections // 2
        runs = [wrk(port, work / "paths.txt", args.seconds, half, False),
                wrk(port, work / "paths.txt", args.seconds, args.connections - half, True)]
        outputs = [parse_wrk(run.communicate()[0]) for run in runs]
        stop.set()
        for thread in threads:
            thread.join()
        end_rss = sum(rss_kb(p) for p in tree(web.pid))
    finally:
        stop.set()
        for process in (web, clock):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
    with open(work / "clock.log") as log:
        builds = sum(1 for line in log if "event=build " in line and "status=published" in line)
    print(f"soak: {args.seconds} s, {args.connections} connections over {len(feeds)} feeds; "
          f"clock rebuilt every {args.rebuild} s ({builds} generations published, {stats['edits']} edits)")
    for name, result in zip(("plain", "revalidating"), outputs, strict=True):
        print(f"  {name:<13} {result['requests']:>9,} requests ({result['rps']:,.0f}/s), "
              f"non-2xx/304: {result['non_2xx_3xx']}, p99 {result['p99']}")
    print(f"  verifier: {stats['verified']:,} bodies checked against their ETag, "
          f"{stats['mismatches']} mismatches, {stats['errors']} failed requests")
    growth = (end_rss - start_rss) / start_rss * 100 if start_rss else float("nan")
    print(f"  web RSS (all workers): start {start_rss / 1024:.0f} MB, end {end_rss / 1024:.0f} MB "
          f"({growth:+.1f}%); every 10 s: {series}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
