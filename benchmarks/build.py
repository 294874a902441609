"""Build benchmark: cold build, no-change rebuild, one-file-change rebuild, peak RSS.

Usage: python benchmarks/build.py [N ...]   (default: 10000 100000)

Each size runs in its own process so peak RSS is per size (worker processes
reported separately). Corpora are generated once under benchmarks/out/.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import rss_kb  # noqa: E402

OUT = HERE / "out"


def _descendants(root: int) -> list[int]:
    """Processes under root, forkserver workers included (they are grandchildren)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of this process and all its descendants (Linux /proc)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.peak_workers_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            workers = sum(rss_kb(pid) for pid in _descendants(os.getpid()))
            self.peak_workers_kb = max(self.peak_workers_kb, workers)
            self.peak_kb = max(self.peak_kb, rss_kb(os.getpid()) + workers)


def run_one(count: int) -> dict:
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    from make_corpus import make_corpus

    from feedsvc.build import Builder
    from feedsvc.settings import load_settings
    from feedsvc.store import Store

    corpus = OUT / f"corpus-{count}"
    if not corpus.is_dir():
        make_corpus(count, corpus)
    work = OUT / f"work-{count}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    settings = load_settings(env={}, content_dir=corpus, database_url=f"sqlite:///{work}/store.db",
                             cache_dir=work / "cache")
    store = Store(settings.database_url)
    store.create()
    builder = Builder(settings, store)
    sampler = TreeRssSampler()
    sampler.start()
    t = time.perf_counter()
    cold = builder.build()
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    same = builder.build()
    same_s = time.perf_counter() - t
    victim = sorted(corpus.glob("*.md"))[count // 2]
    original = victim.read_bytes()
    try:
        victim.write_bytes(original.replace(b'title: "', b'title: "Edited ', 1))
        t = time.perf_counter()
        one = builder.build()
        one_s = time.perf_counter() - t
    finally:
        victim.write_bytes(original)
    db_size = sum(p.stat().st_size for p in work.glob("store.db*"))
    return {
        "articles_files": count, "articles_published": cold.articles, "topics": cold.topics,
        "documents": cold.documents, "cold_s": round(cold_s, 2), "cold_phases": cold.timings,
        "no_change_s": round(same_s, 3), "no_change_published": same.published,
        "one_file_s": round(one_s, 3), "one_file_phases": one.timings,
        "one_file_docs_written": one.documents_written,
        "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_workers_sum": round(sampler.peak_workers_kb / 1024),
        "peak_rss_mb_total_sampled": round(sampler.peak_kb / 1024),
        "store_mb": round(db_size / 1e6, 1),
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(run_one(int(sys.argv[2]))))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    for count in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(count)], check=True,
                             capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        print(f"{count:>7} files: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
