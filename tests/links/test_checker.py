"""The checker against real servers on loopback: every way a link can fail."""

from __future__ import annotations

import itertools
import time

import pytest

from feedsvc.links import eventloop
from tests.links.conftest import make_checker


def test_ok(server, check):
    result = check(server.url("/ok", "site.test"))
    assert (result.status, result.code, result.redirects, result.error) == ("ok", 200, 0, None)
    assert [r.method for r in server.requests] == ["HEAD"]
    assert server.requests[0].headers["user-agent"] == "feedsvc-test"


def test_permanent_redirect(server, check):
    result = check(server.url("/moved", "site.test"))
    assert result.status == "redirected" and result.permanent_redirect
    assert result.final_url == server.url("/ok", "site.test") and result.redirects == 1


def test_temporary_redirect_chain(server, check):
    result = check(server.url("/chain-1", "site.test"))
    assert result.status == "redirected" and not result.permanent_redirect
    assert result.redirects == 3 and result.final_url.endswith("/ok")
    mixed = check(server.url("/perm-chain", "site.test"))
    assert mixed.permanent_redirect and mixed.redirects == 2


def test_redirect_loop(server, check):
    result = check(server.url("/loop-a", "site.test"))
    assert (result.status, result.error) == ("broken", "redirect loop")


def test_too_many_redirects(server, check):
    result = check(server.url("/endless", "site.test"), max_redirects=4)
    assert result.status == "broken" and result.error == "more than 4 redirects"
    assert sum(n for path, n in server.hits.items() if path.startswith("/endless")) == 5


def test_redirect_to_another_scheme(server, check):
    result = check(server.url("/to-ftp", "site.test"))
    assert result.status == "broken" and "not an http(s) URL" in result.error


@pytest.mark.parametrize(("path", "code"), [("/missing", 404), ("/gone", 410)])
def test_not_found_and_gone(server, check, path, code):
    result = check(server.url(path, "site.test"))
    assert (result.status, result.code) == ("broken", code)
    assert [r.method for r in server.requests] == ["HEAD", "GET"]


def test_405_on_head_then_200_on_get(server, check):
    result = check(server.url("/no-head", "site.test"))
    assert (result.status, result.code) == ("ok", 200)
    assert [r.method for r in server.requests] == ["HEAD", "GET"]


def test_403_on_head_only(server, check):
    assert check(server.url("/head-forbidden", "site.test")).status == "ok"


def test_403_everywhere_is_blocked_not_broken(server, check):
    result = check(server.url("/forbidden", "site.test"))
    assert (result.status, result.code) == ("blocked", 403)


def test_429_with_retry_after_is_honoured(server, check):
    result = check(server.url("/rate-limited", "site.test"), deadline=5.0)
    assert (result.status, result.code) == ("ok", 200)
    gets = [r for r in server.requests if r.method == "GET"]
    retry_head = server.requests[2]
    assert retry_head.started - gets[0].started >= 0.95  # waited the second it was told


def test_retry_after_beyond_the_run_budget_is_not_waited_for(server, check):
    started = time.monotonic()
    # An hour's Retry-After against a two-minute run budget and a one-minute deadline:
    # anything that waited would take a minute at least.
    result = check(server.url("/always-429", "site.test"), deadline=60.0, run_budget=120.0)
    assert (result.status, result.code) == ("blocked", 429)
    assert time.monotonic() - started < 30


def test_503_then_200_on_retry(server, check):
    result = check(server.url("/flaky", "site.test"), deadline=5.0)
    assert (result.status, result.code) == ("ok", 200)
    assert server.hits["/flaky"] == 3


def test_500_is_a_transient_error(server, check):
    result = check(server.url("/server-error", "site.test"))
    assert (result.status, result.code) == ("error", 500)


def test_server_that_never_answers_hits_the_deadline(server, check):
    started = time.monotonic()
    result = check(server.url("/silent", "site.test"), timeout=120.0, deadline=1.5)
    elapsed = time.monotonic() - started
    assert result.status == "error" and result.error == "no complete answer within 1.5 s"
    assert 1.4 <= elapsed < 60  # the deadline ended it, not the two-minute read timeout


def test_headers_dripped_a_byte_a_second_hit_the_deadline(server, check):
    started = time.monotonic()
    result = check(server.url("/drip", "site.test"), timeout=120.0, deadline=2.5)
    assert result.status == "error" and "2.5 s" in result.error
    # A byte a second never trips the read timeout: only the deadline can have ended it.
    assert time.monotonic() - started < 60


def test_huge_body_is_never_downloaded(server, check):
    result = check(server.url("/huge", "site.test"), deadline=10.0)
    assert (result.status, result.code) == ("ok", 200)
    time.sleep(0.3)
    assert server.bytes_sent["/huge"] < 16 * 1024 * 1024  # of 5 GiB offered


def test_connection_reset(server, check):
    result = check(server.url("/reset", "site.test"))
    assert (result.status, result.error) == ("error", "ReadError: connection reset by peer")


def test_name_that_does_not_resolve(server, check):
    result = check(server.url("/ok", "nowhere.test"))
    assert result.status == "broken" and "does not resolve" in result.error
    assert server.connections == 0


def test_per_host_limit_and_gap_measured_on_the_server(server):
    urls = [server.url(f"/slow?{n}", "site.test") for n in range(8)]
    urls += [server.url(f"/slow?{n}", "other.test") for n in range(8)]

    async def go():
        async with make_checker(per_host=2, host_gap=0.1, concurrency=50, deadline=20) as checker:
            # Warm up first: the process's first connection pays one-time costs (imports,
            # loop setup) after its turn was taken, which squeezes the next server-side gap.
            await checker.check(server.url("/ok", "warm.test"))
            server.requests.clear()
            return [r async for r in checker.check_many(urls)]

    results = eventloop.run(go())
    assert {r.status for r in results} == {"ok"} and len(results) == 16
    assert server.max_in_flight["site.test"] == 2 and server.max_in_flight["other.test"] == 2


def test_per_host_gap_spreads_requests_on_the_server(server):
    """Eleven quick requests to one host, 0.1 s apart, take at least a second as the
    server sees them. Judged by their spread, not by each gap: on a busy machine one
    arrival can be late and squeeze the next gap, but only the first and the last
    arrival's lateness shortens the spread (without a gap it is a few milliseconds)."""
    urls = [server.url(f"/ok?{n}", "site.test") for n in range(11)]

    async def go():
        async with make_checker(per_host=1, host_gap=0.1, concurrency=50, deadline=20) as checker:
            return [r async for r in checker.check_many(urls)]

    results = eventloop.run(go())
    assert {r.status for r in results} == {"ok"}
    starts = sorted(r.started for r in server.requests if r.host == "site.test")
    assert len(starts) >= 11
    assert starts[-1] - starts[0] >= 0.8, [round(b - a, 3) for a, b in itertools.pairwise(starts)]


def test_global_limit(server):
    urls = [server.url(f"/slow?{n}", "site.test") for n in range(6)]
    urls += [server.url(f"/slow?{n}", "other.test") for n in range(6)]

    async def go():
        async with make_checker(per_host=5, concurrency=3, deadline=20) as checker:
            return [r async for r in checker.check_many(urls)]

    eventloop.run(go())
    assert server.max_in_flight["site.test"] + server.max_in_flight["other.test"] <= 6
    assert max(server.max_in_flight.values()) <= 3


def test_connections_are_reused_between_checks_of_one_host(server):
    urls = [server.url(f"/ok?{n}", "site.test") for n in range(5)]

    async def go():
        async with make_checker(per_host=1) as checker:
            results = [r async for r in checker.check_many(urls)]
            return results, checker.backend.connections

    results, connections = eventloop.run(go())
    assert {r.status for r in results} == {"ok"}
    assert server.connections == connections == 1  # five HEADs, one TCP connection


def test_waits_past_the_run_end_time_out_and_other_cancellations_still_cancel() -> None:
    """The run's one end timer (checker._RunEnd) ends every wait still inside it with a
    TimeoutError (the checker defers those URLs), as asyncio.timeout would; a wait done
    before the end is untouched, and a task cancelled for another reason is cancelled."""
    import asyncio

    from feedsvc.links.checker import _RunEnd

    async def waits(end: _RunEnd, event: asyncio.Event) -> str:
        with end:
            await event.wait()
        return "done"

    async def go() -> tuple[list[object], bool, bool]:
        end = _RunEnd()
        end.arm(0.3)
        answered = asyncio.Event()
        tasks = [asyncio.create_task(waits(end, asyncio.Event())),  # waits past the end
                 asyncio.create_task(waits(end, asyncio.Event())),  # cancelled by its owner
                 asyncio.create_task(waits(end, answered))]         # done in time
        await asyncio.sleep(0)  # every task is now waiting inside `with end:`
        tasks[1].cancel()
        answered.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        try:
            with end:
                pass
        except TimeoutError:
            late_refused = True
        else:
            late_refused = False
        return outcomes, late_refused, tasks[0].cancelling() == 0

    outcomes, late_refused, uncancelled = eventloop.run(go())
    assert isinstance(outcomes[0], TimeoutError)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert outcomes[2] == "done"
    assert late_refused  # after the end, a wait is refused at once
    assert uncancelled  # the end's own cancellation was taken back, as asyncio.timeout does
