"""Takeover-to-publish time: two `feedsvc clock` processes, the leader killed after an edit.

Usage: python benchmarks/takeover.py [--files 20000] [--interval 300] [--lease 5]
                                     [--database-url URL]

A synthetic corpus (benchmarks/make_corpus.py) on a fresh SQLite store (or the
PostgreSQL database given); clock A builds it cold and leads, clock B starts
as the standby with a parse cache of its own (another machine, in effect).
Once B is standing by (and, where it does, has refreshed its cache), one
file is edited and A is killed with SIGKILL. Printed: kill to B's
leadership, leadership to B's publish, and B's build (files parsed, its
duration). Run it with PYTHONPATH pointing at another checkout's code to
compare versions. Touches only loopback and temporary files.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import make_corpus


def events(log: Path, name: str) -> list[dict[str, object]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == name:
            found.append(record)
    return found


def wait_for(log: Path, name: str, ceiling: float, where=lambda e: True) -> dict[str, object]:
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        found = [e for e in events(log, name) if where(e)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise SystemExit(f"no {name} in {log} within {ceiling:.0f}s:\n{log.read_text()[-3000:]}")


def at(record: dict[str, object]) -> float:
    return datetime.fromisoformat(str(record["time"])).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--interval", type=int, default=300, help="FEEDSVC_BUILD_INTERVAL")
    parser.add_argument("--lease", type=int, default=5, help="FEEDSVC_CLOCK_LEASE_SECONDS")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-refresh", action="store_true",
                        help="do not wait for the standby's cache refresh (code without one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="feedsvc-takeover-"))
    content = make_corpus(args.files, work / "content")
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(content),
           "FEEDSVC_DATABASE_URL": args.database_url or f"sqlite:///{work / 'store.sqlite3'}",
           "FEEDSVC_BUILD_INTERVAL": str(args.interval),
           "FEEDSVC_CLOCK_LEASE_SECONDS": str(args.lease), "FEEDSVC_LOG_FORMAT": "json"}
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> Path:
        log = work / f"{name}.log"
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "clock", "--no-links"],
            env={**env, "FEEDSVC_CACHE_DIR": str(work / f"cache-{name}")},
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True))
        return log

    try:
        log_a = start("a")
        first = wait_for(log_a, "build", 1800)
        print(f"{args.files} files: leader's cold build {first['duration_s']}s "
              f"({first['articles']} articles, {first['documents']} documents)")
        log_b = start("b")
        wait_for(log_b, "clock_started", 60)
        if args.no_refresh:
            time.sleep(2 * args.lease)  # standing by; nothing to wait for in such code
        else:
            warm = wait_for(log_b, "standby_refresh", 1800)
            print(f"standby refreshed its cache: {warm['parsed']} files parsed in {warm['duration_s']}s")
        victim = sorted(content.glob("*.md"))[0]
        victim.write_text(victim.read_text().replace("title:", "title: (edited)", 1))
        killed = time.time()
        os.killpg(processes[0].pid, signal.SIGKILL)
        taken = wait_for(log_b, "leadership", 600, lambda e: bool(e["leader"]))
        built = wait_for(log_b, "build", args.interval + 1800, lambda e: e["status"] == "published")
        print(f"kill -> standby leads: {at(taken) - killed:.1f}s "
              f"(lease {args.lease}s, retried every {args.lease / 3:.1f}s)")
        print(f"leads -> publishes: {at(built) - at(taken):.1f}s "
              f"(its build: {built['parsed']} files parsed, {built['duration_s']}s)")
        print(f"kill -> publish: {at(built) - killed:.1f}s")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(60)


if __name__ == "__main__":
    main()
