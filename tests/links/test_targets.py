"""Which URLs and Locations the checker will use: pure, and never raising."""

from __future__ import annotations

import pytest

from feedsvc.links.targets import redirect_target, url_problem

BASE = "http://site.test:8080/a/b"


@pytest.mark.parametrize("url", [
    "http://site.test/", "https://site.test:443/x?y=1#z", "http://site.test:65535/",
    "http://site.test:1/", "http://127.0.0.1:8080/", "http://[::1]:8080/x", "http://[2001:db8::1]/",
    "https://bücher.example/", "http://user:pw@site.test/", "HTTP://SITE.TEST/", "http://site.test:/x",
    "http://under_score.site.test/", "http://site.test/a b",  # httpx encodes the space
])
def test_checkable_urls(url):
    assert url_problem(url) is None


@pytest.mark.parametrize(("url", "reason"), [
    ("http://site.test:99999/", "port 99999 is out of range (1-65535)"),
    ("http://site.test:65536/", "port 65536 is out of range (1-65535)"),
    ("http://site.test:-1/", "port -1 is out of range (1-65535)"),
    ("http://site.test:0/", "port 0 is not a port anything listens on"),
    ("http://site.test:00/", "port 0 is not a port anything listens on"),
    ("http://site.test:abc/", "port 'abc' is not a number"),
    ("http://site.test:８０/", "port '８０' is not a number"),
    ("http://[::1]:0/", "port 0 is not a port anything listens on"),
    ("http://[::1]x/", "unexpected 'x' after the IPv6 address"),
    ("http://[::1/", "malformed (Invalid IPv6 URL)"),
    ("http:///x", "no host"),
    ("http://:80/", "no host"),
    ("ftp://site.test/", "not an http(s) URL"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("//site.test/", "not an http(s) URL"),
    ("http://a b/", "'a b' is not a valid host name"),
    ("http://a..b/", "'a..b' is not a valid host name"),
    ("http://-a.test/", "'-a.test' is not a valid host name"),
    ("http://%00/", "'%00' is not a valid host name"),
    ("http://site.test/\x00", "contains control characters"),
    ("", "empty URL"),
    ("http://site.test/" + "x" * 9000, "longer than 8192 characters"),
])
def test_unusable_urls_say_why(url, reason):
    assert url_problem(url) == reason


@pytest.mark.parametrize(("location", "target"), [
    ("/ok", "http://site.test:8080/ok"), ("c", "http://site.test:8080/a/c"),
    ("//other.test/x", "http://other.test/x"), ("https://other.test:8443/", "https://other.test:8443/"),
    ("  /padded  ", "http://site.test:8080/padded"), ("?q=1", "http://site.test:8080/a/b?q=1"),
])
def test_redirect_targets(location, target):
    assert redirect_target(BASE, location) == (target, None)


@pytest.mark.parametrize(("location", "reason"), [
    ("http://site.test:99999/", "port 99999 is out of range (1-65535)"),
    ("http://site.test:0/", "port 0 is not a port anything listens on"),
    ("//site.test:-1/", "port -1 is out of range (1-65535)"),
    ("http://[::1/", "a malformed Location (Invalid IPv6 URL)"),
    ("mailto:someone@site.test", "not an http(s) URL"),
    ("", "an empty Location"),
    ("/a\r\nSet-Cookie: x", "a Location with control characters"),
])
def test_bad_locations_say_why(location, reason):
    assert redirect_target(BASE, location) == (None, reason)


def test_requests_are_written_as_httpx_would_write_them():
    """parsed_url reads the common plain URL without httpx's parser (a large share of the
    checker's CPU per URL): it must come to httpx's answer for every URL, plain or not."""
    import itertools

    import httpx

    from feedsvc.links.hosts import host_of
    from feedsvc.links.targets import parsed_url

    hosts = ["a.b", "news.example", "127.0.1.5", "10.0.0.1", "1.2.3", "01.2.3.4", "256.1.1.1",
             "a-b.c", "xn--bcher-kva.example", "a.b.", "localhost", "0x7f.1", "1e3.x", "A.B"]
    ports = ["", ":80", ":443", ":8080", ":0080", ":65535", ":1"]
    paths = ["", "/", "/x", "/a/b/c.html", "/a;b", "/a:b@c", "/~u/!$&'()*+,=", "/a/./b",
             "/a/../b", "/.well-known/x", "/a.", "/a..b", "//x", "/a b", "/%7Eu", "/é"]
    queries = ["", "?", "?a=1&b=2", "?x=/y/../z", "?a?b", "?q=a:b@c", "?q=a b", "#f", "?a#f"]
    compared = 0
    for scheme, host, port, path, query in itertools.product(
            ["http", "https"], hosts, ports, paths, queries):
        url = f"{scheme}://{host}{port}{path}{query}"
        try:
            expected = httpx.URL(url)
        except httpx.InvalidURL:
            with pytest.raises(httpx.InvalidURL):
                parsed_url(url)
            continue
        got = parsed_url(url)
        assert (got.scheme, got.host, got.port, got.netloc, got.raw_path) == (
            expected.scheme, expected.host, expected.port, expected.netloc,
            expected.raw_path), url
        assert got.gate == host_of(url), url
        compared += 1
    assert compared > 10_000


def test_the_plain_shortcut_agrees_with_the_rules():
    """url_problem passes a plain URL in one match (a sixth of the checker's CPU went to its
    rules one by one): every URL the shortcut passes, the rules pass too, and the common
    article URLs do take the shortcut."""
    import itertools

    from feedsvc.links import targets

    hosts = ["a.b", "news.example", "127.0.1.5", "1.2.3", "01.2.3.4", "256.1.1.1", "a-b.c",
             "-a.b", "a-.b", "a..b", "a.b.", "xn--bcher-kva.example", "A.B", "under_score.b",
             "x" * 63 + ".b", "x" * 64 + ".b", ".".join(["abcdefghi"] * 26), "a"]
    ports = ["", ":", ":80", ":0", ":00", ":1", ":65535", ":65536", ":99999", ":0080"]
    paths = ["", "/", "/x", "/a/./b", "/a/../b", "/.x", "/a b", "/%7E", "/é", "/a\x00", "//x"]
    queries = ["", "?", "?a=1&b=2", "?a b", "#f"]
    taken = 0
    for scheme, host, port, path, query in itertools.product(
            ["http", "https", "HTTP", "ftp"], hosts, ports, paths, queries):
        url = f"{scheme}://{host}{port}{path}{query}"
        if targets._plainly_checkable(url):
            taken += 1
            assert _by_the_rules(url) is None, url
    assert taken > 500
    assert targets._plainly_checkable("https://www.example.com/2024/05/01/a-story.html?ref=rss")
    assert targets._plainly_checkable("http://127.0.1.7:8080/article/12")


def _by_the_rules(url: str) -> str | None:
    """url_problem without its shortcut."""
    from unittest import mock

    from feedsvc.links import targets

    with mock.patch.object(targets, "_plainly_checkable", return_value=False):
        return targets.url_problem(url)


def test_host_of_reads_plain_urls_as_urlsplit_does():
    """host_of skips urlsplit for the common URL: the same host as urlsplit, every time."""
    import itertools
    from urllib.parse import urlsplit

    from feedsvc.links.hosts import MAX_HOST, host_of

    def split(url: str) -> str:
        try:
            return (urlsplit(url).hostname or "")[:MAX_HOST]
        except ValueError:
            return ""

    hosts = ["a.b", "A.b", "127.0.0.1", "a.b.", "", "-x", "a_b", "[::1]", "user@a.b", "a\n.b",
             "a b", "x" * 300]
    ports = ["", ":", ":80", ":99999", ":x", ":-1"]
    rests = ["", "/", "/x", "?q", "#f", "\\x", "@x/", "/a\tb", " "]
    for scheme, host, port, rest in itertools.product(
            ["http", "https", "HTTP", "ftp", " http"], hosts, ports, rests):
        url = f"{scheme}://{host}{port}{rest}"
        assert host_of(url) == split(url), url
