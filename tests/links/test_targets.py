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
