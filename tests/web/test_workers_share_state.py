"""Two real granian workers (`feedsvc web --workers 2`) over real HTTP: one scrape counts
both, one rate limit holds for both, logs are one JSON line per record."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.web.test_server import free_port


def start_web(settings, tmp_path: Path, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    log = tmp_path / f"web-{port}.log"
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                "FEEDSVC_DATABASE_URL": settings.database_url, "FEEDSVC_BASE_URL": settings.base_url,
                "FEEDSVC_WEB_CHECK_INTERVAL": "0", **extra})
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(bin_dir) / "feedsvc"), "web", "--host", "127.0.0.1",
                                    "--port", str(port), "--workers", "2", "--threads", "2"],
                                   env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"feedsvc web did not become ready:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return process, base, log


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture
def two_workers(site_settings, publish, tmp_path):
    publish()
    started: list[subprocess.Popen[bytes]] = []

    def run(**extra: str) -> tuple[str, Path]:
        process, base, log = start_web(site_settings, tmp_path, extra)
        started.append(process)
        return base, log

    yield run
    for process in started:
        stop(process)


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_one_scrape_counts_the_requests_of_both_workers(two_workers, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale file of an earlier run")
    base, _ = two_workers(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    assert not (metrics_dir / "counter_999999.db").exists()  # emptied at start-up
    total = 0
    deadline = time.monotonic() + 60
    # A new connection per batch lands on either worker.
    while len(list(metrics_dir.glob("counter_*.db"))) < 2 or total < 200:
        assert time.monotonic() < deadline, "the requests never reached both workers"
        with httpx.Client(base_url=base, trust_env=False) as http:
            for _ in range(10):
                assert http.get("/feeds/all.atom").status_code == 200
                total += 1
    with httpx.Client(base_url=base, trust_env=False) as http:
        # Each worker publishes its counts on a timer (and the one scraped, at once):
        # wait until a scrape shows them all, then every scrape must.
        deadline = time.monotonic() + 60
        while _sample(http.get("/metrics").text, "feedsvc_http_requests_total",
                      route="documents.feed", status="200") < total:
            assert time.monotonic() < deadline, "the workers never published their counts"
            time.sleep(0.05)
        scrapes = [http.get("/metrics").text for _ in range(6)]  # whichever worker answers
    for text in scrapes:
        assert "pid=" not in text
        assert _sample(text, "feedsvc_http_requests_total", route="documents.feed", status="200") == total
        assert _sample(text, "feedsvc_http_request_duration_seconds_count", route="documents.feed") == total
        assert _sample(text, "feedsvc_store_up") == 1
        assert _sample(text, "feedsvc_builds_total", status="published") == 1


def test_a_rate_limit_holds_across_workers_and_ignores_forged_forwarded_for(two_workers):
    base, _ = two_workers(FEEDSVC_RATE_LIMIT="0.6", FEEDSVC_RATE_LIMIT_BURST="5", FEEDSVC_TRUST_PROXY="1")
    statuses = []
    for n in range(40):  # a new connection each time: spread over both workers
        with httpx.Client(base_url=base, trust_env=False) as http:
            statuses.append(http.get("/feeds/all.rss", headers={
                "X-Forwarded-For": f"198.51.100.{n}, 203.0.113.5"}).status_code)
    assert statuses.count(200) == 5 and statuses.count(429) == 35, statuses
    assert statuses[:5] == [200] * 5
    # Another client (as our proxy saw it) has its own bucket.
    with httpx.Client(base_url=base, trust_env=False) as http:
        other = http.get("/feeds/all.rss", headers={"X-Forwarded-For": "203.0.113.6"})
        assert other.status_code == 200
        limited = http.get("/metrics").text
    assert _sample(limited, "feedsvc_rate_limited_total") == 35


def test_web_logs_are_one_json_line_per_record(two_workers, site_settings):
    from sqlalchemy import update

    from feedsvc.store import Store, state

    base, log = two_workers(FEEDSVC_LOG_FORMAT="json")
    store = Store(site_settings.database_url)
    with store.engine.begin() as conn:  # a report no one can read: /status fails inside
        conn.execute(update(state).where(state.c.key == "last_report").values(value="{not json"))
    store.close()
    with httpx.Client(base_url=base, trust_env=False) as http:
        assert http.get("/status").status_code == 500
    deadline = time.monotonic() + 30
    while True:
        text = log.read_text(errors="replace")
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        failures = [r for r in records if r["event"].startswith("Exception on /status")]
        if failures or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert failures, text
    assert "Traceback" in failures[0]["error"] and "JSONDecodeError" in failures[0]["error"]
    assert failures[0]["level"] == "error"
    for line in text.splitlines():
        assert not line.startswith(("Traceback", "  File ")), line
