"""Serving benchmark: requests/s and p99 latency for a 50-item topic feed.

Usage: python benchmarks/serve.py [--seconds 8] [--connections 50]

Needs `wrk` (Debian package). Builds a synthetic corpus into a temporary
store, then measures under granian, in the same run:
  feedsvc   - `feedsvc web` serving /feeds/<topic>.rss
  ceiling   - a minimal Flask view returning the same bytes from memory
each with and without gzip and with and without If-None-Match.
Everything listens on 127.0.0.1 only. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from common import free_port, parse_wrk  # noqa: E402


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int, *,
        expect_errors: bool = False) -> tuple[float, str, int]:
    """requests/s, p99 and the count of non-2xx/3xx answers (reported as 0 when
    `expect_errors`: a 404 case counts its 404s as the answer it wanted)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = parse_wrk(subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout)
    return result["rps"], result["p99"], 0 if expect_errors else result["non_2xx_3xx"]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    sys.path.insert(0, str(HERE))
    from make_corpus import make_corpus

    work = Path(tempfile.mkdtemp(prefix="feedsvc-serve-"))
    make_corpus(1500, work / "content", 10)
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(work / "content"),
           "FEEDSVC_DATABASE_URL": f"sqlite:///{work}/store.db",
           "FEEDSVC_CACHE_DIR": str(work / "cache")}
    subprocess.run([sys.executable, "-m", "feedsvc.cli", "build"], env=env, check=True,
                   capture_output=True)
    sys.path.insert(0, str(REPO))
    from feedsvc.store import Store

    store = Store(env["FEEDSVC_DATABASE_URL"])
    path = next(d.path for d in store.documents(store.current_generation())
                if d.path.startswith("feeds/topic-0") and d.path.endswith(".rss")
                and "/archive/" not in d.path)
    doc, body = store.read(path)
    (work / "body.rss").write_bytes(body)
    env["CEILING_BODY"] = str(work / "body.rss")
    env["PYTHONPATH"] = f"{HERE}{os.pathsep}{env.get('PYTHONPATH', '')}"
    items = body.count(b"<item>")
    print(f"document: /{path} ({items} items, {len(body):,} bytes); wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s; {args.workers} server workers; 2 cores shared with wrk")
    cases = [("200 identity", {}), ("200 gzip", {"Accept-Encoding": "gzip"}),
             ("304 identity", {"If-None-Match": f'"{doc.blob_hash[:32]}"'}),
             ("304 gzip", {"Accept-Encoding": "gzip", "If-None-Match": f'"{doc.blob_hash[:32]}-gzip"'})]
    results = {}
    for name, target, route in (("feedsvc", None, "/" + path), ("ceiling", "ceiling_app", "/feed")):
        port = free_port()
        if target is None:
            command = [sys.executable, "-m", "feedsvc.cli", "web", "--host", "127.0.0.1",
                       "--port", str(port), "--workers", str(args.workers)]
        else:
            command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
                       "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                       "--no-ws", f"{target}:create_app"]
        process = start(command, env)
        try:
            wait_for(f"http://127.0.0.1:{port}{route}")
            for case, headers in cases:
                results[(name, case)] = wrk(f"http://127.0.0.1:{port}{route}", headers,
                                            args.seconds, args.connections)
        finally:
            stop(process)
    print("\ngranian:")
    print(f"  {'case':<14}{'feedsvc req/s':>15}{'p99':>10}{'ceiling req/s':>15}{'p99':>10}{'ratio':>8}")
    for case, _ in cases:
        ours, top = results[("feedsvc", case)], results[("ceiling", case)]
        bad = f"  non-2xx/3xx: {ours[2]}" if ours[2] else ""
        print(f"  {case:<14}{ours[0]:>15,.0f}{ours[1]:>10}{top[0]:>15,.0f}{top[1]:>10}"
              f"{ours[0] / top[0]:>8.2f}{bad}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
