"""Soft 404s against real loopback sites: caught in both shapes, never called on a real page.

Each host name below is a site of its own (its own probe, its own politeness) served by
one loopback server, which tells them apart by the Host header.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from feedsvc.links import eventloop
from feedsvc.links.checker import CheckerConfig, LinkChecker
from feedsvc.links.guard import StaticResolver
from feedsvc.links.soft404 import is_deep, page_verdict, redirect_verdict
from tests.links.servers import LoopbackServer, Request, respond

NAMES = ("home.test", "same.test", "soft.test", "honest.test", "consent.test", "wall.test",
         "token.test")
RESOLVER = StaticResolver(dict.fromkeys(NAMES, "127.0.0.1"))


def page(title: str, text: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()


NOT_FOUND = page("Page not found | Soft", "Sorry, we could not find that page.")
SITES: dict[str, dict[str, tuple[int, dict[str, str], bytes]]] = {
    # Retires stories with a redirect to its home page or a generic page.
    "home.test": {
        "/": (200, {}, page("Home", "Today's news")),
        "/not-found": (200, {}, page("Not found", "Nothing here")),
        "/2024/retired": (301, {"Location": "/"}, b""),
        "/2024/retired-too": (302, {"Location": "/not-found"}, b""),
        "/old-2": (301, {"Location": "/new-2"}, b""),
        "/new-2": (200, {}, page("A story that moved", "It lives here now")),
        "/2024/real": (200, {}, page("A real story", "Words")),
        "*": (301, {"Location": "/"}, b""),
    },
    # Sends every URL it does not know to the same page, which is not a generic path.
    "same.test": {
        "/stories/unavailable": (200, {}, page("Unavailable", "This story is unavailable")),
        "/2024/real": (200, {}, page("A real story", "Words")),
        "*": (302, {"Location": "/stories/unavailable"}, b""),
    },
    # Answers 200 with its "not found" page for any path it does not know.
    "soft.test": {
        "/2024/real": (200, {}, page("A real article", "The article itself")),
        "/2024/about-not-found": (200, {}, page("Why 'page not found' is the web's saddest page",
                                                "An essay")),
        "/2024/paywalled": (200, {}, page("Subscriber story | Soft", "Subscribe to continue")),
        "*": (200, {}, NOT_FOUND),
    },
    # An honest 404 for unknown paths; a cookie wall that hands the story back.
    "honest.test": {
        "/2024/not-found-title": (200, {}, page("Page not found", "A story about 404 pages")),
        "*": (404, {}, b"missing"),
    },
    "consent.test": {"/": (200, {}, page("Before you continue", "Accept cookies"))},
    # A cookie wall answering 200 for every URL, naming the page it stands in front of.
    "wall.test": {},
    # A soft-404 page carrying a token that changes with every answer (same length).
    "token.test": {"/2024/real": (200, {}, page("A real one", "Real words"))},
}


async def _answer(request: Request, writer: asyncio.StreamWriter) -> None:
    host, path = request.host, request.path.split("?")[0]
    head = request.method == "HEAD"
    if host == "wall.test":
        body = page("Before you continue", f"Accept cookies to read {request.path}")
        await respond(writer, 200, {"Content-Type": "text/html"}, body, head=head)
        return
    if host == "token.test" and path not in SITES[host]:
        token = f"{len(SERVED):08d}"
        SERVED.append(token)
        body = page("Oops | Token", f"Not here. Request {token}")
        await respond(writer, 200, {}, body, head=head)
        return
    if host == "honest.test" and path == "/2024/cookie-story":
        port = request.headers["host"].rpartition(":")[2]
        back = quote(f"http://honest.test:{port}{request.path}", safe="")
        await respond(writer, 302, {"Location": f"http://consent.test:{port}/?continue={back}"},
                      head=head)
        return
    site = SITES[host]
    status, headers, body = site.get(path, site.get("*", (404, {}, b"")))
    await respond(writer, status, {"Content-Type": "text/html", **headers}, body, head=head)


SERVED: list[str] = []


@pytest.fixture(scope="module")
def sites():
    srv = LoopbackServer("127.0.0.1").start()
    srv.routes = _Everything(_answer)  # type: ignore[assignment]
    yield srv
    srv.stop()


class _Everything(dict):  # type: ignore[type-arg]
    """A route table that sends every path to one handler (each site routes by Host)."""

    def __init__(self, handler) -> None:
        super().__init__()
        self.handler = handler

    def get(self, key, default=None):
        return self.handler


def check_all(server: LoopbackServer, urls: list[str], **overrides) -> dict[str, object]:
    config = CheckerConfig(**{"user_agent": "feedsvc-test", "concurrency": 10, "per_host": 2,
                              "host_gap": 0.0, "timeout": 2.0, "deadline": 5.0,
                              "run_budget": 30.0, "soft_404_probe": True, **overrides})

    async def go() -> dict[str, object]:
        async with LinkChecker(config, allow=["127.0.0.1/32"], resolver=RESOLVER) as checker:
            return {r.url: r async for r in checker.check_many(urls)}

    return eventloop.run(go())


def test_both_shapes_caught_and_no_real_page_called_a_soft_404(sites):
    soft = {("home.test", "/2024/retired"): "home page (/)",
            ("home.test", "/2024/retired-too"): "generic page (/not-found)",
            ("same.test", "/2024/gone"): "where the site also sends a URL that cannot exist",
            ("soft.test", "/2024/gone"): "the same page the site shows for a URL that cannot exist",
            ("token.test", "/2024/gone"): "same title ('Oops | Token') and length"}
    real = {("home.test", "/old-2"): "redirected", ("home.test", "/2024/real"): "ok",
            ("same.test", "/2024/real"): "ok", ("soft.test", "/2024/real"): "ok",
            ("soft.test", "/2024/about-not-found"): "ok", ("soft.test", "/2024/paywalled"): "ok",
            ("honest.test", "/2024/not-found-title"): "ok",
            ("honest.test", "/2024/cookie-story"): "redirected",
            ("wall.test", "/2024/05/a-story-behind-a-cookie-wall"): "ok"}
    urls = {key: sites.url(key[1], key[0]) for key in (*soft, *real)}
    results = check_all(sites, list(urls.values()))
    for key, words in soft.items():
        result = results[urls[key]]
        assert result.status == "soft_404", (key, result)
        assert words in result.error and result.failed, (key, result.error)
        assert result.code == 200
    false_positives = {key: results[urls[key]] for key, status in real.items()
                       if results[urls[key]].status != status}
    assert false_positives == {}
    moved = results[urls[("home.test", "/old-2")]]
    assert moved.permanent_redirect and moved.final_url == sites.url("/new-2", "home.test")


def test_one_probe_per_host_and_bodies_read_only_after_a_200(sites):
    sites.requests.clear()
    urls = [sites.url(f"/2024/story-{n}", "soft.test") for n in range(6)]
    urls += [sites.url(f"/2024/story-{n}", "honest.test") for n in range(3)]
    results = check_all(sites, urls)
    assert {r.status for u, r in results.items() if "soft.test" in u} == {"soft_404"}
    assert {r.status for u, r in results.items() if "honest.test" in u} == {"broken"}
    probes = [r for r in sites.requests if "/feedsvc-probe-" in r.path]
    assert sorted((r.host, r.method) for r in probes) == [
        ("soft.test", "GET"), ("soft.test", "HEAD")]  # honest.test's 404s needed none
    gets = [r for r in sites.requests if r.host == "soft.test" and r.method == "GET"]
    heads = {r.path for r in sites.requests if r.host == "soft.test" and r.method == "HEAD"}
    assert all(r.path in heads for r in gets)  # every GET came after a HEAD of that path


def test_without_the_probe_only_the_redirect_shape_is_caught(sites):
    retired = sites.url("/2024/retired", "home.test")
    gone = sites.url("/2024/gone", "soft.test")
    results = check_all(sites, [retired, gone], soft_404_probe=False)
    assert results[retired].status == "soft_404" and results[gone].status == "ok"


@pytest.mark.parametrize(("original", "final", "probe", "soft"), [
    ("https://n.test/2024/05/story", "https://n.test/", None, True),
    ("https://n.test/2024/05/story", "https://www.n.test/en/", None, True),
    ("https://n.test/2024/05/story", "https://n.test/search?q=story", None, True),
    ("https://n.test/2024/05/story", "https://n.test/404.html", None, True),
    ("https://n.test/2024/05/story", "https://n.test/gone-away", "https://n.test/gone-away", True),
    ("https://n.test/old-2", "https://n.test/new-2", "https://n.test/", False),
    ("https://n.test/", "https://n.test/en/", None, False),  # a home page is not a story
    ("https://n.test/ok", "https://n.test/ok/", None, False),
    ("https://n.test/2024/05/story", "https://login.n.test/?next=%2F2024%2F05%2Fstory", None, False),
    ("http://n.test/2024/05/story", "https://n.test/2024/05/story", None, False),
])
def test_redirect_rule(original, final, probe, soft):
    assert (redirect_verdict(original, final, probe) is not None) is soft


def test_a_probe_that_was_not_a_200_proves_nothing():
    from feedsvc.links.soft404 import Page

    same = Page("https://n.test/x", 200, "Not found", 100, "abc")
    assert page_verdict(same, Page("https://n.test/probe", 404)) is None
    assert page_verdict(same, None) is None
    assert page_verdict(same, Page("https://n.test/probe", 200, "Not found", 100, "abc"))
    assert page_verdict(same, Page("https://n.test/probe", 200, "Not found", 101, "abd")) is None
    assert not is_deep("https://n.test/") and is_deep("https://n.test/2024/story")
