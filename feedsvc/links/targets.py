"""Which URLs the checker will try to reach, and where a `Location` header points.

Article URLs come from editors and upstream feeds, and redirect `Location`s
from any site we link to, so both are untrusted text. The standard library
and httpx disagree on what they accept (`urlsplit` raises `ValueError` for
port 99999 when asked for the port, httpx accepts it and the socket layer
raises later; port 0 silently becomes port 80), and an exception escaping
the checker used to end a whole run. So every URL is judged here first, by
pure functions that never raise: a URL is either checkable or it has a
reason, which becomes that URL's `broken` result.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx

from feedsvc.links.hosts import MAX_HOST, host_of

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # spaces in a path are fine: httpx encodes them
_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def _host_problem(host: str) -> str | None:
    if host.startswith("["):
        if not host.endswith("]"):
            return "the IPv6 address is not closed with ']'"
        try:
            ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return f"{host!r} is not a valid international domain name"
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f"{host!r} is not a valid host name"
    return None


def _port_problem(netloc: str) -> str | None:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        after = hostport.partition("]")[2]
        if not after:
            return None
        if not after.startswith(":"):
            return f"unexpected {after!r} after the IPv6 address"
        raw = after[1:]
    else:
        if ":" not in hostport:
            return None
        raw = hostport.rpartition(":")[2]
    if raw == "":
        return None  # "host:" means the default port
    if raw.startswith("-") and raw[1:].isdigit() and raw.isascii():
        return f"port {raw[:20]} is out of range (1-65535)"
    if not raw.isdigit() or not raw.isascii():
        return f"port {raw[:20]!r} is not a number"
    port = int(raw)
    if port == 0:
        return "port 0 is not a port anything listens on"
    if port > 65535:
        return f"port {raw[:20]} is out of range (1-65535)"
    return None


def url_problem(url: str) -> str | None:
    """Why the checker must not (or cannot) request `url`, or None when it may."""
    if not isinstance(url, str) or not url:
        return "empty URL"
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if _plainly_checkable(url):
        return None
    if _CONTROL.search(url):
        return "contains control characters"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"malformed ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return "not an http(s) URL"
    if not parts.netloc or not parts.hostname:
        return "no host"
    problem = _port_problem(parts.netloc)
    if problem:
        return problem
    host = parts.netloc.rpartition("@")[2]
    host = host.partition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]
    problem = _host_problem(host)
    if problem:
        return problem
    try:
        parsed = parsed_url(url)
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError) as exc:
        return f"malformed ({exc})"[:200]
    if parsed.port == 0 or not parsed.host:
        return "no usable host and port"
    return None


# A host name of valid labels (1-63 characters, no hyphen at either end), as the rules of
# `url_problem` want one; checked only on the plain URLs `_plain_parts` recognises.
_LABELS = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _plainly_checkable(url: str) -> bool:
    """Whether `url` is a plain URL (`_plain_parts`) with a host of valid labels: one that
    every rule of `url_problem` passes, recognised in one match (nearly every article
    URL). The rules one by one (a split, a port parse, a regular expression per label,
    httpx's parser) were a sixth of the checker's CPU per URL. False says nothing: the
    rules decide then."""
    parts = _plain_parts(url)
    return parts is not None and _LABELS.fullmatch(parts[1]) is not None


class Target(NamedTuple):
    """What a request to a URL needs: where to connect (`scheme`, `host`, `port`; None for
    the scheme's default), the Host header (`netloc`) and the request target (`raw_path`),
    as httpx would send them; and `gate`, the host the checker is polite to
    (feedsvc.links.hosts.host_of)."""

    scheme: str
    host: str
    port: int | None
    netloc: bytes
    raw_path: bytes
    gate: str


# A URL that httpx sends as it stands (nearly every article URL): a lower-case ASCII host
# name or address, a port or none, a path without dot segments and a query, both of
# characters that need no quoting (no '%', no space, no fragment). Anything else goes
# through httpx's parser (IDNA, percent-encoding, dot segments), which costs more than the
# rest of recognising a URL put together.
_PLAIN = re.compile(r"(https?)://([a-z0-9][a-z0-9.-]{0,252})(?::([1-9][0-9]{0,4}))?"
                    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0-255, no leading zero
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _plain_parts(url: str) -> tuple[str, str, int | None, str | None, str | None] | None:
    """(scheme, host, port, path, query) of a URL of the plain shape (`_PLAIN`, no dot
    segment, a host httpx leaves as it is, a port in range), which needs no httpx; None
    for any other URL."""
    plain = _PLAIN.fullmatch(url)
    if plain is None:
        return None
    scheme, host, port_text, path, query = plain.groups()
    port = int(port_text) if port_text else None
    if "/." in (path or "") or not _plain_host(host) or (port is not None and port > 65535):
        return None
    return scheme, host, port, path, query


@lru_cache(maxsize=4096)
def parsed_url(url: str) -> Target:
    """The parse of a URL for a request, once: the check and the request share it.
    Raises what httpx raises for a URL it cannot take."""
    plain = _plain_parts(url)
    if plain is not None:
        scheme, host, port, path, query = plain
        if port == _DEFAULT_PORTS[scheme]:
            port = None
        netloc = host if port is None else f"{host}:{port}"
        return Target(scheme, host, port, netloc.encode("ascii"),
                      ((path or "/") + (query or "")).encode("ascii"), host[:MAX_HOST])
    parsed = httpx.URL(url)
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.netloc, parsed.raw_path,
                  host_of(url))


def _plain_host(host: str) -> bool:
    """A host httpx leaves as it is: a name of non-empty labels (no IDNA label: httpx
    decodes those), or a dotted IPv4 address
    written the usual way (other spellings of numbers are httpx's to normalise)."""
    if host.endswith(".") or ".." in host or "xn--" in host:
        return False
    if not host.replace(".", "").isdigit():
        return True
    return _DOTTED_QUAD.fullmatch(host) is not None


def redirect_target(current: str, location: str) -> tuple[str | None, str | None]:
    """Where a `Location` sent for `current` points: (url, None), or (None, why not)."""
    location = location.strip(" \t")
    if not location:
        return None, "an empty Location"
    if _CONTROL.search(location):
        return None, "a Location with control characters"
    try:
        target = urljoin(current, location)
    except ValueError as exc:
        return None, f"a malformed Location ({exc})"
    problem = url_problem(target)
    if problem:
        return None, problem
    return target, None


def describe_location(location: str) -> str:
    """A Location for a reason line: quoted, escaped, bounded."""
    text = location if len(location) <= 200 else location[:200] + "..."
    return repr(text)
