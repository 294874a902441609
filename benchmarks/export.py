"""Static export benchmark: wall time and peak RSS of `feedsvc export`, cold and again.

Usage: python benchmarks/export.py [N] [--store URL]

Without --store, makes an N-file synthetic corpus (default 10,000) under
benchmarks/out/ and builds it into a SQLite store there first. Then runs
`feedsvc export` three times as separate processes: into an empty directory
(every file written), again (nothing changed: nothing rewritten), and after
dropping a tenth of the articles (stale files removed). Peak RSS is the export
process's own (getrusage of the waited child). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FEEDSVC = str(Path(sys.executable).parent / "feedsvc")


def measured(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, last output line) of one command in a fresh child
    of a fresh process, so RUSAGE_CHILDREN holds that command alone."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print((r.stdout + r.stderr).strip().splitlines()[-1] if r.stdout + r.stderr else ''); "
             "sys.exit(r.returncode)")
    done = subprocess.run([sys.executable, "-c", probe, *command], env=env, capture_output=True,
                          text=True, check=True)
    first, last = done.stdout.splitlines()[:2]
    wall, kb = first.split()
    return float(wall), int(kb) // 1024, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--store")
    args = parser.parse_args()
    work = OUT / f"export-{args.n}"
    env = {**os.environ, "FEEDSVC_CACHE_DIR": str(work / "cache"), "FEEDSVC_BUILD_WORKERS": "2"}
    content = work / "content"
    if args.store:
        env["FEEDSVC_DATABASE_URL"] = args.store
    else:
        env["FEEDSVC_DATABASE_URL"] = f"sqlite:///{work / 'store.sqlite3'}"
        if not content.is_dir():
            subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(args.n), str(content)],
                           check=True)
        started = time.perf_counter()
        subprocess.run([FEEDSVC, "build", "--content", str(content)], env=env, check=True,
                       capture_output=True)
        print(f"build: {time.perf_counter() - started:.1f} s")
    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)
    for label in ("cold", "again"):
        wall, mb, line = measured([FEEDSVC, "export", str(site)], env)
        files = sum(len(names) for _, _, names in os.walk(site))
        print(f"export {label}: {wall:.1f} s, peak RSS {mb} MB, {files} files; {line}")
    if not args.store:
        for path in sorted(content.glob("*.md"))[::10]:
            path.unlink()
        subprocess.run([FEEDSVC, "build", "--allow-shrink", "--content", str(content)], env=env,
                       check=True, capture_output=True)
        wall, mb, line = measured([FEEDSVC, "export", str(site)], env)
        print(f"export after removing a tenth of the articles: {wall:.1f} s, peak RSS {mb} MB; {line}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)")


if __name__ == "__main__":
    main()
