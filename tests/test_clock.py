"""The clock: scheduling, leader election, crash safety, WebSub, and observability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from feedsvc.clock import Clock
from feedsvc.store import Store
from tests.web.test_server import free_port

BIN = str(Path(sys.executable).parent)


def story(n: int, topic: str = "Privacy", extra: str = "") -> str:
    return (f"---\ntitle: Story {n}{extra}\ndate: 2024-02-{1 + n % 27:02d}T08:00:00Z\n"
            f"url: https://news.example/{n}\ntags: [{topic}]\n---\n")


@pytest.fixture
def clock_settings(write, settings_for):
    for n in range(6):
        write(f"s{n}.md", story(n, "Privacy" if n % 2 else "Regulation"))
    return settings_for(write.root, build_interval=1, linkcheck_interval=1, clock_lease_seconds=2)


def store_for(settings) -> Store:
    store = Store(settings.database_url)
    store.create()
    return store


def test_jobs_run_do_not_overlap_and_survive_failures(clock_settings):
    clock = Clock(clock_settings, store_for(clock_settings), check_links=False)
    calls, running, overlap = [], [0], []
    real_build = clock.builder.build

    def slow_flaky_build(**kwargs):
        running[0] += 1
        overlap.append(running[0])
        calls.append(time.monotonic())
        try:
            time.sleep(1.6)
            if len(calls) == 1:
                raise RuntimeError("first build fails")
            return real_build(**kwargs)
        finally:
            running[0] -= 1

    clock.builder.build = slow_flaky_build
    scheduler = clock.scheduler(blocking=False)
    scheduler.start()
    job = scheduler.get_job("build")
    assert (job.coalesce, job.max_instances) == (True, 1) and job.misfire_grace_time >= 60
    assert str(scheduler.timezone) == "UTC"
    # Until a build after the failing one has published (each build takes 1.6 s against
    # an interval of 1 s, so the scheduler had every chance to start two at once).
    assert wait_until(lambda: len(calls) >= 2 and clock.store.current_generation() is not None, 60)
    scheduler.shutdown(wait=True)
    assert len(calls) >= 2, "the build after a failing one still ran"
    assert max(overlap) == 1, "two builds never ran at once"
    assert clock.store.current_generation() is not None


def start_process(args: list[str], settings, log_path: Path,
                  extra_env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_CONTENT_DIR": str(settings.content_dir),
           "FEEDSVC_CACHE_DIR": str(settings.cache_dir), "FEEDSVC_BASE_URL": settings.base_url,
           "FEEDSVC_BUILD_INTERVAL": str(settings.build_interval),
           "FEEDSVC_CLOCK_LEASE_SECONDS": str(settings.clock_lease_seconds),
           "FEEDSVC_LOG_FORMAT": "json", "FEEDSVC_BUILD_WORKERS": "1", **(extra_env or {})}
    handle = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "feedsvc.cli", *args], env=env, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def events(log_path: Path, name: str) -> list[dict]:
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == name:
            found.append(record)
    return found


def wait_until(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def test_two_clocks_one_leader_and_takeover(clock_settings, tmp_path):
    store_for(clock_settings)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = start_process(["clock", "--no-links"], clock_settings, log_a)
    try:
        assert wait_until(lambda: events(log_a, "build"), 20), log_a.read_text()
        b = start_process(["clock", "--no-links"], clock_settings, log_b)
        try:
            assert wait_until(lambda: events(log_b, "clock_started"), 20), log_b.read_text()
            # Three builds of the leader while the standby is up: it never builds meanwhile.
            assert wait_until(lambda: len(events(log_a, "build")) >= 3, 30), log_a.read_text()
            assert events(log_b, "build") == [] and events(log_b, "leadership") == []
            killed_at = datetime.now(UTC)
            stop(a, signal.SIGKILL)
            taken = wait_until(lambda: [e for e in events(log_b, "leadership") if e["leader"]], 10)
            assert taken, log_b.read_text()
            delay = datetime.fromisoformat(taken[0]["time"]) - killed_at
            assert delay <= timedelta(seconds=2 * clock_settings.clock_lease_seconds), delay
            assert wait_until(lambda: events(log_b, "build"), 5)
        finally:
            stop(b)
        assert [e for e in events(log_b, "leadership") if e.get("reason") == "shutdown"]
    finally:
        stop(a)


def test_clean_shutdown_gives_up_the_lease(clock_settings, tmp_path):
    store = store_for(clock_settings)
    log = tmp_path / "clock.log"
    process = start_process(["clock", "--no-links"], clock_settings, log)
    try:
        assert wait_until(lambda: events(log, "build"), 20)
        assert store.lease("clock") is not None
    finally:
        stop(process, signal.SIGTERM)
    assert process.returncode == 0
    assert events(log, "clock_stopped") and store.lease("clock") is None


def test_two_web_processes_serve_identical_etags(clock_settings, tmp_path):
    from feedsvc.build import Builder

    store = store_for(clock_settings)
    Builder(clock_settings, store).build()
    ports = [free_port(), free_port()]
    webs = [start_process(["web", "--host", "127.0.0.1", "--port", str(p), "--workers", "1"],
                          clock_settings, tmp_path / f"web{p}.log") for p in ports]
    try:
        def ready() -> bool:
            try:
                return all(httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=1).status_code == 200
                           for p in ports)
            except httpx.TransportError:
                return False

        assert wait_until(ready, 30)
        for path in ("/feeds/all.atom", "/feeds/privacy.rss", "/feeds.opml", "/", "/api/topics"):
            answers = [httpx.get(f"http://127.0.0.1:{p}{path}", headers={"Accept-Encoding": "gzip"})
                       for p in ports]
            assert answers[0].headers["etag"] == answers[1].headers["etag"], path
            assert answers[0].content == answers[1].content
    finally:
        for web in webs:
            stop(web)


def test_sigkill_mid_build_keeps_the_previous_generation(write, settings_for, tmp_path):
    from feedsvc.build import Builder
    from feedsvc.store import body_hash
    from feedsvc.web import create_app

    for n in range(1500):
        write(f"bulk-{n:04d}.md", story(n, f"Topic {n % 40}") + "Body text. " * 40)
    settings = settings_for(write.root, feed_size=10)
    store = store_for(settings)
    first = Builder(settings, store).build()
    before = {d.path: d.blob_hash for d in store.documents(first.generation)}
    for n in range(1500):
        write(f"bulk-{n:04d}.md", story(n, f"Topic {n % 40}", " (edited)") + "Body text. " * 40)
    log = tmp_path / "build.log"
    build = start_process(["build"], settings.replace(cache_dir=tmp_path / "cold-cache"), log)
    # Kill it once it is under way (its first progress line: 100 of 1,500 files parsed),
    # not after a guessed time: the rest of the parse, the render and the publish remain.
    assert wait_until(lambda: b"parsing " in log.read_bytes() or build.poll() is not None, 120)
    stop(build, signal.SIGKILL)
    assert build.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert store.current_generation() == first.generation
    docs = store.documents(first.generation)
    assert {d.path: d.blob_hash for d in docs} == before
    bodies = dict(store.bodies(d.blob_hash for d in docs))
    assert all(body_hash(bodies[d.blob_hash]) == d.blob_hash for d in docs)
    client = create_app({"FEEDSVC_SETTINGS": settings}).test_client()
    assert b"(edited)" not in client.get("/feeds/all.atom").data
    again = Builder(settings, store).build()
    assert again.published and again.generation == first.generation + 1
    assert b"(edited)" in create_app({"FEEDSVC_SETTINGS": settings}).test_client().get("/feeds/all.atom").data


class Hub:
    def __init__(self, fail_first: int = 0) -> None:
        self.pings: list[str] = []
        self.fail_first = fail_first
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                assert form["hub.mode"] == ["publish"]
                if hub.fail_first > 0:
                    hub.fail_first -= 1
                    self.send_response(500)
                else:
                    hub.pings.append(form["hub.url"][0])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_websub_pings_only_changed_feeds(write, settings_for):
    hub = Hub()
    try:
        write("a.md", story(1, "Privacy"))
        write("b.md", story(2, "Regulation"))
        settings = settings_for(write.root, websub_hub=hub.url)
        clock = Clock(settings, store_for(settings), check_links=False)
        clock.build_job()
        assert hub.pings == [], "the build only queues pings: the websub job sends them"
        clock.websub_job()
        feeds = {f"https://feeds.test/feeds/{slug}.{fmt}" for slug in ("all", "privacy", "regulation")
                 for fmt in ("rss", "atom", "json")}
        assert sorted(hub.pings) == sorted(feeds)
        hub.pings.clear()
        clock.build_job()
        clock.websub_job()
        assert hub.pings == []
        write("a.md", story(1, "Privacy", " (updated)"))
        clock.build_job()
        clock.websub_job()
        assert sorted(hub.pings) == sorted(f for f in feeds if "/regulation." not in f)
        store = clock.store
        body = store.read("feeds/privacy.atom")[1]
        assert f'<link href="{hub.url}" rel="hub"/>'.encode() in body
    finally:
        hub.close()


def test_metrics_and_structured_logs(clock_settings, capfd):
    from feedsvc.logs import configure_logging
    from feedsvc.web import create_app

    configure_logging("json")
    clock = Clock(clock_settings, store_for(clock_settings), check_links=False)
    clock.build_job()
    line = [json.loads(x) for x in capfd.readouterr().err.splitlines() if '"event": "build"' in x][-1]
    assert (line["status"], line["articles"], line["logger"]) == ("published", 6, "feedsvc.clock")
    client = create_app({"FEEDSVC_SETTINGS": clock_settings}).test_client()
    client.get("/feeds/all.rss")
    client.get("/feeds/nope.rss")
    text = client.get("/metrics").data.decode()
    assert "feedsvc_store_up 1\n" in text
    assert 'feedsvc_build_status{status="published"} 1\n' in text
    assert "feedsvc_articles 6\n" in text
    assert 'feedsvc_content_problems{severity="error"} 0\n' in text
    assert 'feedsvc_links{status="unchecked"} 6\n' in text
    assert 'feedsvc_http_requests_total{route="documents.feed",status="200"}' in text
    assert 'feedsvc_http_requests_total{route="documents.feed",status="404"}' in text
    logging_root = __import__("logging").getLogger()
    logging_root.handlers.clear()


def test_serve_builds_serves_and_rebuilds_in_one_process(clock_settings, write, tmp_path):
    port = free_port()
    process = start_process(["serve", "--port", str(port)], clock_settings, tmp_path / "serve.log",
                            {"FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}"})
    base = f"http://127.0.0.1:{port}"
    attempts: list[str] = []  # what each attempt got: a refused port and a hung worker differ
    try:
        def answer():
            try:
                response = httpx.get(f"{base}/feeds/all.atom", timeout=1)
            except httpx.TransportError as exc:
                attempts.append(f"{type(exc).__name__}: {exc}")
                return None
            attempts.append(f"HTTP {response.status_code}")
            return response

        first = wait_until(lambda: (r := answer()) is not None and r.status_code == 200 and r, 30)
        assert first, (attempts[-5:], len(attempts), (tmp_path / "serve.log").read_text())
        assert b"Story 0" in first.content and b"Story 99" not in first.content
        write("s99.md", story(99, "Privacy"))
        changed = wait_until(lambda: (r := answer()) is not None and b"Story 99" in r.content, 15)
        assert changed, (tmp_path / "serve.log").read_text()
        log = (tmp_path / "serve.log").read_text()
        assert f"Site:   {base}/" in log
    finally:
        stop(process)
