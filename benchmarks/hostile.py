"""Hostile-input benchmark: what one bad entry costs a build.

Usage: python benchmarks/hostile.py [--timeout S] [--good N]

Each case is a fresh directory of N good articles (default 200) plus one
hostile entry, built by a `feedsvc build` subprocess into a fresh SQLite
store, under a timeout (a hang shows as TIMEOUT). Prints, per case: exit
status, wall time, peak RSS of the build (its workers included when they
ran), documents published and store size. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def story(n: int, topics: str = "[Privacy]", body: str = "") -> str:
    return (f"---\ntitle: Story {n}\ndate: 2024-02-{1 + n % 27:02d}T08:00:00Z\n"
            f"url: https://news.example/{n}\ntopics: {topics}\n---\n{body}")


def hostile(root: Path, case: str) -> None:
    if case == "baseline":
        return
    if case == "markdown-1mb-brackets":
        (root / "costly.md").write_text(story(9000, body="[" * 1_000_000))
    elif case == "markdown-64kb-image-brackets":
        (root / "costly.md").write_text(story(9000, body="![" * 32_768))
    elif case == "2000-topics":
        names = ", ".join(f'"Topic {i}"' for i in range(2000))
        (root / "many.md").write_text(story(9000, topics=f"[{names}]"))
    elif case == "symlink-loop":
        os.symlink("x.md", root / "x.md")
    elif case == "fifo-article":
        os.mkfifo(root / "pipe.md")
    elif case == "fifo-topics":
        (root / "topics.yml").unlink()
        os.mkfifo(root / "topics.yml")
    elif case == "directory-loop":
        (root / "sub").mkdir()
        os.symlink("..", root / "sub" / "up")
    elif case == "non-utf8-name":
        with open(os.fsencode(root) + b"/2022-05-10-bad\xff\xfe.txt", "wb") as handle:
            handle.write(b"A title\n\nA standfirst.\n")
    elif case == "empty-directory":
        for path in root.glob("*.md"):
            path.unlink()
    else:  # pragma: no cover
        raise SystemExit(f"unknown case {case}")


CASES = ["baseline", "markdown-1mb-brackets", "markdown-64kb-image-brackets", "2000-topics",
         "symlink-loop", "fifo-article", "fifo-topics", "directory-loop", "non-utf8-name"]


# Runs the build and reports the peak RSS of it and its descendants (they are all reaped below it).
WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print(f'peak_rss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', flush=True); "
           "sys.exit(r.returncode)")


def run(case: str, good: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = base / "content"
        root.mkdir()
        (root / "topics.yml").write_text("topics:\n  - slug: privacy\n    title: Privacy\n")
        for n in range(good):
            (root / f"a{n:05}.md").write_text(story(n, body="Some text. " * 50))
        hostile(root, case)
        store = base / "store.sqlite3"
        env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(root), "FEEDSVC_DATABASE_URL": f"sqlite:///{store}",
               "FEEDSVC_CACHE_DIR": str(base / "cache"), "FEEDSVC_BUILD_WORKERS": "1"}
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", WRAPPER, sys.executable, "-m", "feedsvc.cli",
                                    "build"],
                                   env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
            status = str(process.returncode)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            output, _ = process.communicate()
            status = "TIMEOUT"
        wall = time.perf_counter() - start
        text = output.decode(errors="replace")
        peaks = [line for line in text.splitlines() if line.startswith("peak_rss_kb=")]
        peak = int(peaks[-1].split("=")[1]) if peaks else 0
        output = "\n".join(line for line in text.splitlines() if not line.startswith("peak_rss_kb=")).encode()
        documents = 0
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    documents = db.execute("SELECT count(*) FROM documents WHERE generation_id = "
                                           "(SELECT max(generation_id) FROM documents)").fetchone()[0]
            except sqlite3.Error:
                documents = -1
        last = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return {"case": case, "exit": status, "wall_s": round(wall, 2), "peak_rss_mb": round(peak / 1024),
                "documents": documents,
                "store_mb": round(store.stat().st_size / 1e6, 1) if store.exists() else 0,
                "last_line": last[0][:160]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--good", type=int, default=200)
    parser.add_argument("cases", nargs="*", default=CASES)
    args = parser.parse_args()
    for case in args.cases:
        print(json.dumps(run(case, args.good, args.timeout)), flush=True)


if __name__ == "__main__":
    main()
