"""Checkers share one store's URLs: each URL checked once, every host's gap kept.

Two real `feedsvc links check` processes, started together on one PostgreSQL
store, against loopback sites (one server per address, 127.0.0.2-9) that record
when each request arrived."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedsvc.build import Builder
from feedsvc.errors import ClaimLost
from feedsvc.links.checker import CheckResult
from feedsvc.links.run import rules_from
from feedsvc.settings import load_settings
from feedsvc.store import Store
from feedsvc.store.linkclaims import HostFence, LinkClaims
from feedsvc.store.linkstore import LinkStore
from tests.links.servers import Handler, LoopbackServer, answer, respond

# Several real checker processes and per-host gaps measured to the tenth of a second:
# run with the cluster tests, one at a time (scripts/test).
pytestmark = pytest.mark.cluster

FEEDSVC = str(Path(sys.executable).parent / "feedsvc")
HOSTS = [f"127.0.0.{n}" for n in range(2, 10)]
PER_HOST = 12
GAP = 0.2
FAIR_PER_HOST = 20


@pytest.fixture
def sites():
    servers = [LoopbackServer(address).start() for address in HOSTS]
    yield servers
    for server in servers:
        server.stop()


def story(n: int, url: str) -> str:
    return (f"---\ntitle: Story {n}\ndate: 2024-01-01T10:00:00Z\nurl: {url}\n"
            f"summary: Summary {n}.\ntags: [Privacy]\n---\n")


def built_store(tmp_path: Path, postgres_url: str, urls: list[str],
                **settings: str) -> tuple[dict[str, str], Store]:
    """A built store (so the checkers register nothing new) over `urls`; the checkers'
    environment, with `settings` over the defaults here."""
    content = tmp_path / "content"
    content.mkdir()
    for n, url in enumerate(urls):
        (content / f"s{n}.md").write_text(story(n, url), encoding="utf-8")
    env = {"FEEDSVC_DATABASE_URL": postgres_url, "FEEDSVC_CONTENT_DIR": str(content),
           "FEEDSVC_CACHE_DIR": str(tmp_path / "cache"), "FEEDSVC_BUILD_WORKERS": "1",
           "FEEDSVC_BASE_URL": "https://feeds.test",
           "FEEDSVC_ID_AUTHORITY": "feedsvc.test,2026", "FEEDSVC_LINKCHECK_ALLOW": "127.0.0.0/8",
           "FEEDSVC_LINKCHECK_HOST_GAP": str(GAP), "FEEDSVC_LINKCHECK_PER_HOST": "1",
           "FEEDSVC_LINKCHECK_CONCURRENCY": "3", "FEEDSVC_LINKCHECK_DEADLINE": "5",
           "FEEDSVC_LINKCHECK_TIMEOUT": "2", **settings}
    store = Store(postgres_url)
    store.create()
    Builder(load_settings(env=env), store).build()
    return env, store


@pytest.fixture
def shared_store(tmp_path, postgres_url, sites):
    """A built store over 96 URLs on 8 hosts."""
    urls = [server.url(f"/story-{n}") for server in sites for n in range(PER_HOST)]
    env, store = built_store(tmp_path, postgres_url, urls)
    return env, store, urls


def start_checkers(env: dict[str, str], *extra: str, count: int = 2) -> list[subprocess.Popen[str]]:
    """`count` `feedsvc links check` processes, started together."""
    full = {**os.environ, **env}
    return [subprocess.Popen([FEEDSVC, "links", "check", *extra], env=full, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(count)]


def checked_by(processes: list[subprocess.Popen[str]], status: str = "broken") -> list[list[str]]:
    """The URLs each process reported checked (with `status`), once they have ended."""
    checked = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        lines = out.strip().splitlines()
        assert lines[-1].startswith("checked "), out
        checked.append([line.split()[2] for line in lines[:-1] if line.startswith(status)])
    return checked


def run_two(env: dict[str, str], *extra: str) -> list[list[str]]:
    """Two `feedsvc links check` processes started together; the URLs each one checked."""
    return checked_by(start_checkers(env, *extra))


def assert_shared_and_polite(sites, checked: list[list[str]], urls: list[str]) -> None:
    first, second = checked
    assert first and second, "both processes did some of the work"
    assert Counter(first + second) == Counter(urls), "each URL checked once, by one of them"
    assert_polite(sites)


def assert_polite(sites) -> None:
    for server in sites:
        starts = sorted(r.started for r in server.requests)
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # Sent at least GAP apart by whichever process held the host; what the server
        # records is arrival, which a busy machine can delay for one request and not the
        # next, hence the margin. (Without sharing hosts, two processes sent requests to
        # one host 0.001 s apart.)
        assert min(gaps) >= GAP / 2, (server.host, sorted(gaps)[:3])


def test_two_checkers_share_the_due_urls_and_keep_each_hosts_gap(shared_store, sites):
    env, store, urls = shared_store
    checked = run_two(env)
    assert_shared_and_polite(sites, checked, urls)
    history = LinkStore(store).history(urls)
    assert all(len(history[url]) == 1 for url in urls)
    for server in sites:
        server.requests.clear()
    everything = run_two(env, "--all")  # nothing is due now: --all takes every URL again
    assert_shared_and_polite(sites, everything, urls)
    history = LinkStore(store).history(urls)
    assert all(len(history[url]) == 2 for url in urls)


def answer_when(gate: threading.Event) -> Handler:
    """A route that answers 200 only once `gate` is set: until then every check of it is
    in flight, whichever checker holds its host."""

    async def handler(request, writer):
        while not gate.is_set():
            await asyncio.sleep(0.02)
        await respond(writer, 200, {"Content-Type": "text/html"}, b"<p>fine</p>",
                      head=request.method == "HEAD")

    return handler


def wait_until(condition, ceiling: float = 120.0) -> None:
    """Poll `condition` until true; the ceiling is generous (a loaded machine), not a bound."""
    give_up = time.monotonic() + ceiling
    while not condition():
        assert time.monotonic() < give_up, "condition not reached"
        time.sleep(0.05)


def test_a_checker_whose_concurrency_covers_every_host_shares_them_fairly(
        tmp_path, postgres_url, sites):
    """Each checker's concurrency covers every host (8 hosts, 1 per host, 8 in flight), so
    the first to claim could hold them all to the end. It holds only its fair part once
    the other is at work: both do a fair part of the checks, not merely some."""
    gate = threading.Event()
    urls = []
    for server in sites:
        for n in range(FAIR_PER_HOST):
            server.routes[f"/fair-{n}"] = answer_when(gate)
            urls.append(server.url(f"/fair-{n}"))
    env, store = built_store(tmp_path, postgres_url, urls, FEEDSVC_LINKCHECK_CONCURRENCY="8",
                             FEEDSVC_LINKCHECK_SOFT404_PROBE="false",
                             FEEDSVC_LINKCHECK_TIMEOUT="120", FEEDSVC_LINKCHECK_DEADLINE="240")
    processes = start_checkers(env)
    try:
        # Nothing is answered until both are at work: whichever claimed first has every
        # host in hand by then, however far apart the two processes came up.
        observer = LinkClaims(store, "observer", ttl=60)
        wait_until(lambda: len(observer.live_checkers()) == 2
                   or any(p.poll() is not None for p in processes))
    finally:
        gate.set()
    first, second = checked_by(processes, "ok")
    assert Counter(first + second) == Counter(urls), "each URL checked once, by one of them"
    assert min(len(first), len(second)) >= len(urls) // 4, (len(first), len(second))
    assert_polite(sites)
    assert observer.live_checkers() == [], "each left the sharers when it was done"


def test_a_claim_that_ran_out_writes_nothing_and_its_host_goes_to_another(
        shared_store, sites):
    env, store, _urls = shared_store
    env_settings = load_settings(env=env)
    now = datetime.now(UTC)
    late = now + timedelta(seconds=61)
    stalled = LinkClaims(store, "stalled", ttl=60, clock=lambda: now)
    claims = stalled.claim(hosts=1, per_host=3, due_by=late, unchecked_since=now)
    assert len(claims) == 1 and len(claims[0].urls) == 3
    host = claims[0].host
    assert all(host in url for url in claims[0].urls)
    # A second checker, while the first holds the host: everything but that host.
    other = LinkClaims(store, "other", ttl=60, clock=lambda: now)
    assert host not in {c.host for c in other.claim(hosts=20, per_host=1, due_by=late,
                                                    unchecked_since=now)}
    # A minute later the first claim has run out: a third checker takes the host over...
    third = LinkClaims(store, "third", ttl=60, clock=lambda: late)
    assert host in {c.host for c in third.claim(hosts=20, per_host=1, due_by=late,
                                                unchecked_since=now)}
    # ... and the stalled checker's results, when it wakes, are rolled back.
    result = CheckResult(claims[0].urls[0], "ok", 200, claims[0].urls[0], False, None, now, 5)
    with pytest.raises(ClaimLost):
        LinkStore(store).record([result], rules_from(env_settings),
                                claim=HostFence(host, "stalled", lambda: late))
    assert LinkStore(store).history([result.url])[result.url] == []


def test_results_of_several_hosts_are_written_only_while_every_host_is_held(shared_store, sites):
    """One transaction may carry several hosts' results (a shared run writes them together):
    if any of its hosts was let go or taken over, none of them is written."""
    env, store, _urls = shared_store
    rules = rules_from(load_settings(env=env))
    now = datetime.now(UTC)
    late = now + timedelta(seconds=61)
    stalled = LinkClaims(store, "stalled", ttl=60, clock=lambda: now)
    claims = stalled.claim(hosts=2, per_host=2, due_by=late, unchecked_since=now)
    assert len(claims) == 2
    # Both still held: written together.
    first = [CheckResult(url, "ok", 200, url, False, None, now, 5) for url in claims[0].urls]
    second = [CheckResult(url, "ok", 200, url, False, None, now, 5) for url in claims[1].urls]
    fences = [HostFence(c.host, "stalled", lambda: now) for c in claims]
    LinkStore(store).record([first[0], second[0]], rules, claims=fences)
    history = LinkStore(store).history([first[0].url, second[0].url])
    assert all(len(lines) == 1 for lines in history.values())
    # A write that ends one host's batch lets that host go in the same transaction.
    other = LinkClaims(store, "other", ttl=60, clock=lambda: now)
    LinkStore(store).record_changes([second[1]], rules, claims=fences,
                                    released={claims[1].host: None})
    again = {c.host for c in other.claim(hosts=20, per_host=1, due_by=late, unchecked_since=now)}
    assert claims[1].host in again and claims[0].host not in again
    # One of the two hosts let go, the other still held: the write carries neither.
    with pytest.raises(ClaimLost):
        LinkStore(store).record([first[1]], rules, claims=fences)
    assert LinkStore(store).history([first[1].url]) == {first[1].url: []}
    other.release(claims[1].host, None)
    # The claims run out and another checker takes one of the two hosts over.
    third = LinkClaims(store, "third", ttl=60, clock=lambda: late)
    taken = {c.host for c in third.claim(hosts=20, per_host=1, due_by=late, unchecked_since=now)}
    assert claims[0].host in taken
    stale = [HostFence(c.host, "stalled", lambda: late) for c in claims]
    with pytest.raises(ClaimLost):
        LinkStore(store).record([first[1]], rules, claims=stale)
    assert LinkStore(store).history([first[1].url]) == {first[1].url: []}


def most_hosts_within(sites, window: float) -> int:
    """The most hosts asked something within one `window` of time, over the whole run."""
    starts = sorted((r.started, server.host) for server in sites for r in server.requests)
    most = 0
    for n, (began, _) in enumerate(starts):
        most = max(most, len({host for at, host in starts[n:] if at < began + window}))
    return most


def test_a_checker_whose_hosts_leave_its_slots_idle_holds_more_of_them(
        tmp_path, postgres_url, sites):
    """Concurrency 4 at 2 per host is two hosts at once, if each keeps its two slots busy.
    With a gap between two requests to a host, a host keeps a sliver of one slot busy, and
    two hosts at a time would leave the checker idle while the other six wait their turn:
    it holds more hosts, and the sites see most of them asked at once, each one politely."""
    slow_gap = 0.5
    urls = []
    for server in sites:
        for n in range(5):
            server.routes[f"/fine-{n}"] = answer(200, {"Content-Type": "text/html"})
            urls.append(server.url(f"/fine-{n}"))
    env, _store = built_store(tmp_path, postgres_url, urls, FEEDSVC_LINKCHECK_CONCURRENCY="4",
                              FEEDSVC_LINKCHECK_PER_HOST="2",
                              FEEDSVC_LINKCHECK_HOST_GAP=str(slow_gap),
                              FEEDSVC_LINKCHECK_SOFT404_PROBE="false")
    for server in sites:
        server.requests.clear()  # the build asked nothing; this is the check's alone
    [process] = start_checkers(env, count=1)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert sorted(line.split()[2] for line in out.splitlines() if line.startswith("ok")) \
        == sorted(urls)
    # Two hosts at a time (and their successors, at a hand-over) is at most four hosts
    # asked within one gap; all eight held at once are asked within moments of each other.
    assert most_hosts_within(sites, slow_gap) >= 6, most_hosts_within(sites, slow_gap)
    for server in sites:
        starts = sorted(r.started for r in server.requests)
        assert len(starts) == 5
        assert min(b - a for a, b in itertools.pairwise(starts)) >= slow_gap / 2
